"""ray_cluster.yaml, checked offline with Ray's own config preparation and schema validation
(what `ray up` runs before it calls AWS), and for the promises the README makes about it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def config() -> dict:
    from ray.autoscaler._private.util import prepare_config, validate_config

    raw = yaml.safe_load((ROOT / "ray_cluster.yaml").read_text())
    prepared = prepare_config(raw)  # merges Ray's AWS defaults; no cloud calls
    validate_config(prepared)  # ray-schema.json and the node-type rules; raises if invalid
    return prepared


def test_images_are_the_official_ones_of_the_pinned_ray(config):
    import ray

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (pin,) = [d for d in pyproject["project"]["dependencies"] if d.startswith("ray[")]
    version = pin.split("==")[1]
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
    for commands in (config["head_start_ray_commands"], config["worker_start_ray_commands"]):
        assert any("RAY_AUTH_MODE=token ray start" in c for c in commands)
    assert config["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"
    # The dashboard on the head's localhost only (reached through `ray dashboard`), and a
    # security group with no inbound rule beyond Ray's defaults (SSH, and the cluster itself).
    (start,) = [c for c in config["head_start_ray_commands"] if "--head" in c]
    assert "--dashboard-host=127.0.0.1" in start and "0.0.0.0" not in start
    assert "IpPermissions" not in config["provider"]["security_group"]


def test_setup_installs_betasweep_and_storage_reaches_s3(config):
    assert config["file_mounts"]["~/betasweep"] == "."
    for commands in (config["head_setup_commands"], config["worker_setup_commands"]):
        assert "pip install -q -e ~/betasweep" in commands
    worker = next(
        t for name, t in config["available_node_types"].items() if name != config["head_node_type"]
    )
    assert worker["node_config"]["IamInstanceProfile"] == {"Name": "ray-autoscaler-v1"}


def test_the_validation_does_reject_a_broken_file():
    import jsonschema
    from ray.autoscaler._private.util import prepare_config, validate_config

    raw = yaml.safe_load((ROOT / "ray_cluster.yaml").read_text())
    raw["idle_timeout_minute"] = raw.pop("idle_timeout_minutes")  # a typo'd key
    with pytest.raises(jsonschema.ValidationError, match="idle_timeout_minute"):
        validate_config(prepare_config(raw))
