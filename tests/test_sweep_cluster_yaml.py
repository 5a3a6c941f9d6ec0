"""ray_cluster.yaml (AWS) and ray_cluster.onprem.yaml (your own machines over SSH), checked
offline with Ray's own config preparation and schema validation (what `ray up` runs before
it calls AWS or SSH), and for the promises the README makes about them. The on-prem file is
also brought up for real by tests/test_sweep_cluster_onprem.py."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
FILES = ("ray_cluster.yaml", "ray_cluster.onprem.yaml")


def _prepared(name: str) -> dict:
    from ray.autoscaler._private.util import prepare_config, validate_config

    raw = yaml.safe_load((ROOT / name).read_text())
    prepared = prepare_config(raw)  # merges Ray's provider defaults; no cloud or SSH calls
    validate_config(prepared)  # ray-schema.json and the node-type rules; raises if invalid
    return prepared


@pytest.fixture(scope="module")
def config() -> dict:
    return _prepared("ray_cluster.yaml")


@pytest.fixture(scope="module")
def onprem() -> dict:
    return _prepared("ray_cluster.onprem.yaml")


@pytest.fixture(scope="module", params=FILES)
def each(request) -> dict:
    return _prepared(request.param)


def _pinned(package: str) -> str:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (pin,) = [d for d in pyproject["project"]["dependencies"] if d.startswith(package)]
    return pin.split("==")[1]


def _head_start(config: dict) -> str:
    (start,) = [c for c in config["head_start_ray_commands"] if "--head" in c]
    return start


def test_images_are_the_official_ones_of_the_pinned_ray(config):
    import ray

    version = _pinned("ray[")
    assert version == ray.__version__
    docker = config["docker"]
    assert docker["worker_image"] == f"rayproject/ray:{version}-py311-gpu"
    assert docker["head_image"] == f"rayproject/ray:{version}-py311-cpu"


def test_a_cpu_head_and_gpu_workers_that_scale_from_zero(config):
    types = config["available_node_types"]
    head = types[config["head_node_type"]]
    assert head["resources"] == {"CPU": 0} and head["max_workers"] == 0
    (worker_type,) = [name for name in types if name != config["head_node_type"]]
    worker = types[worker_type]
    assert worker["min_workers"] == 0 and worker["max_workers"] >= 1
    assert re.match(r"(g4dn|g5|g6|p3|p4d|p5)\.", worker["node_config"]["InstanceType"])
    assert config["provider"]["type"] == "aws"


def test_secure_by_default(config):
    # Token authentication on every node, the token shipped from the user's machine.
    assert "--env RAY_AUTH_MODE=token" in config["docker"]["run_options"]
    # The security group: no inbound rule beyond Ray's defaults (SSH, and the cluster itself).
    assert "IpPermissions" not in config["provider"]["security_group"]


def test_every_node_runs_ray_with_a_token_and_a_localhost_dashboard(each):
    for commands in (each["head_start_ray_commands"], each["worker_start_ray_commands"]):
        assert any("RAY_AUTH_MODE=token ray start" in c for c in commands)
    assert each["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"
    # The dashboard on the head's localhost only (reached through `ray dashboard`).
    start = _head_start(each)
    assert "--dashboard-host=127.0.0.1" in start and "0.0.0.0" not in start
    assert "--autoscaling-config=~/ray_bootstrap_config.yaml" in start


def test_the_two_files_share_their_setup():
    aws, onprem = (yaml.safe_load((ROOT / name).read_text()) for name in FILES)
    for key in ("cluster_name", "file_mounts", "rsync_exclude", "rsync_filter"):
        assert aws[key] == onprem[key], key
    ports = re.compile(r"--(?:port|object-manager-port)=\d+|:\d+")
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        assert ports.findall(aws[key][-1]) == ports.findall(onprem[key][-1]), key


def test_setup_installs_betasweep_and_storage_reaches_s3(config):
    assert config["file_mounts"]["~/betasweep"] == "."
    for commands in (config["head_setup_commands"], config["worker_setup_commands"]):
        assert "pip install -q -e ~/betasweep" in commands
    worker = next(
        t for name, t in config["available_node_types"].items() if name != config["head_node_type"]
    )
    assert worker["node_config"]["IamInstanceProfile"] == {"Name": "ray-autoscaler-v1"}


def test_torch_is_the_version_the_readme_installs(each):
    readme = (ROOT / "README.md").read_text()
    (version,) = set(re.findall(r"pip install -q torch==([\d.]+)", readme))
    commands = " ".join(each["head_setup_commands"] + each["worker_setup_commands"])
    assert set(re.findall(r"torch==([\d.]+)", commands)) == {version}


def test_onprem_hosts_over_ssh_without_docker(onprem):
    provider = onprem["provider"]
    assert provider["type"] == "local"
    assert provider["head_ip"] and provider["worker_ips"]  # placeholders a lab fills in
    assert {"ssh_user", "ssh_private_key"} <= set(onprem["auth"])
    assert not onprem.get("docker")  # optional, documented in the file's header
    # Every worker joins at `ray up` and stays (no cloud to add or remove hosts).
    (node_type,) = onprem["available_node_types"].values()
    assert node_type["min_workers"] == node_type["max_workers"] == len(provider["worker_ips"])


def test_onprem_installs_betasweep_with_the_pinned_ray_in_a_venv(onprem):
    ray_pin = f"'ray[default]=={_pinned('ray[')}'"
    for commands in (onprem["head_setup_commands"], onprem["worker_setup_commands"]):
        assert commands[0] == "python3 -m venv ~/betasweep-env"
        text = "\n".join(commands)
        assert "echo 'export RAY_AUTH_MODE=token' >> ~/betasweep-env/bin/activate" in text
        # Activated in ~/.bashrc, which the launcher sources before every command: `ray
        # down` runs a bare `ray stop` on the head, which must find the environment's ray.
        assert "echo 'source ~/betasweep-env/bin/activate' >> ~/.bashrc" in text
        install = [c for c in commands if "pip install -q -e ~/betasweep" in c]
        assert install and ray_pin in install[0]


def test_onprem_trains_on_the_gpu_workers(onprem):
    # The head holds no trial; the workers have the CUDA build of PyTorch (PyPI's), and Ray
    # finds their GPUs at `ray start`: nothing there hides them (--num-gpus=0).
    assert "--num-cpus=0" in _head_start(onprem)
    # Autoscaler v1: v2 never starts the workers of a local-provider cluster.
    assert "RAY_enable_autoscaler_v2=0 " in _head_start(onprem)
    worker_setup = " ".join(onprem["worker_setup_commands"])
    assert "pip install -q torch==" in worker_setup and "whl/cpu" not in worker_setup
    assert "whl/cpu" in " ".join(onprem["head_setup_commands"])
    worker_start = " ".join(onprem["worker_start_ray_commands"])
    assert "--num-gpus" not in worker_start and "--num-cpus" not in worker_start
    assert "--address=$RAY_HEAD_IP:6379" in worker_start


@pytest.mark.parametrize("name", FILES)
def test_the_validation_does_reject_a_broken_file(name):
    import jsonschema
    from ray.autoscaler._private.util import prepare_config, validate_config

    raw = yaml.safe_load((ROOT / name).read_text())
    raw["file_mounts_sync_continuosly"] = raw.pop("file_mounts_sync_continuously")  # a typo
    with pytest.raises(jsonschema.ValidationError, match="file_mounts_sync_continuosly"):
        validate_config(prepare_config(raw))
