"""ray_cluster.onprem.yaml for real on this machine, as a head (127.0.0.1) and one worker
(127.0.0.2), each an sshd of its own with a throw-away key: `ray up -y` of a copy of the file
pointed at them, the worker set up by the head's autoscaler, a small `sweep run --address
auto` through `ray exec` whose trials run on both hosts, the Parquet it wrote checked, `ray
down -y`.

Each host is tests/onprem_cluster.sh as PID 1 of a PID and mount namespace of its own (the
head's runs the scenario): a `ray stop`/`ray down` there cannot see another user's Ray on
this machine, nor the other host's; the home directory and /tmp the cluster writes to are
private; and the kernel ends whatever was left running when the test ends the namespace by
its unshare's id. What the copy changes in the file: the hosts,
the user and key, one CPU per host for trials (the head trains here too), and free ports for
every Ray service instead of Ray's defaults, so that this cluster meets no other Ray on the
machine. Takes minutes (pip installs betasweep into the hosts' virtual environment): .ci/run
runs it as a step of its own after the suite.
"""

from __future__ import annotations

import copy
import getpass
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from sweep.store.parquet import read_dataset, read_table

pytestmark = pytest.mark.onprem

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "tests" / "onprem_cluster.sh"
LIMIT_S = 1800  # the scenario's wall-clock bound; then its namespace is killed
WORKER_GRACE_S = 60  # for the worker's sshd sessions to end after the scenario
NAME = "onprem"
TRIALS = 3
SWEEP = (
    f"--beta 1..250 --latent 4 --samples {TRIALS} --max-steps 30 --grace-steps 10 "
    "--concurrency 2 --batch-size 16 --seed 0"
)
HOSTS = {"head": "127.0.0.1", "worker": "127.0.0.2"}
# The Ray ports of each host, all free ones (a `ray start` flag each, the GCS's `port` on the
# head), so that this cluster collides with no other Ray on the machine.
NODE_PORT_FLAGS = (
    "object-manager-port",
    "node-manager-port",
    "dashboard-agent-grpc-port",
    "dashboard-agent-listen-port",
    "metrics-export-port",
    "runtime-env-agent-port",
)
HEAD_PORT_FLAGS = ("port", "dashboard-port", "ray-client-server-port")
PACKAGES = {"sshd": "openssh-server", "ssh": "openssh-client", "rsync": "rsync"}


def _tool(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")


def _install(packages: list[str]) -> str | None:
    """apt-get the packages; None when installed, else why not. Services are not started
    (a policy-rc.d that says so, unless the machine has one)."""
    policy = Path("/usr/sbin/policy-rc.d")
    own_policy = not policy.exists()
    if own_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (
            ["apt-get", "update", "-q"],
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
        ):
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                return f"{' '.join(command)} failed: {done.stderr.strip()[-300:]}"
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"apt-get failed: {error}"
    finally:
        if own_policy:
            policy.unlink()
    return None


@pytest.fixture(scope="module")
def sshd() -> str:
    """The sshd binary, openssh-server and rsync installed from Debian if missing."""
    if os.geteuid() != 0:
        pytest.skip("needs root: an sshd of its own, mounts in a namespace of its own")
    if not _tool("unshare") or (not _tool("apt-get") and not _tool("sshd")):
        pytest.skip("needs unshare (util-linux) and sshd, or apt-get to install it")
    missing = [package for tool, package in PACKAGES.items() if not _tool(tool)]
    if missing and (reason := _install(missing)):
        pytest.skip(f"no sshd: {reason}")
    path = _tool("sshd")
    if path is None:
        pytest.skip("no sshd binary after installing openssh-server")
    return path


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _ray_start(commands: list[str], marker: str, expected: list[str], new: dict) -> list[str]:
    """`commands` with the `ray start` among them (the one containing `marker`) given `new`
    flags: each expected flag replaced, the others appended."""
    (start,) = [c for c in commands if marker in c]
    for flag in expected:
        assert flag in start, f"`{start}` no longer says {flag}"
    changed = start
    for flag in expected:
        changed = changed.replace(flag, "")
    changed += " " + " ".join(f"--{name}={value}" for name, value in new.items())
    return [changed if c == start else c for c in commands]


def _on_this_machine(config: dict, ports: dict[str, dict[str, int]]) -> dict:
    """The on-prem file with this machine's two loopback hosts, the test's user and key, one
    CPU per host for trials, and free ports for every Ray service."""
    config = copy.deepcopy(config)
    config["provider"].update(head_ip=HOSTS["head"], worker_ips=[HOSTS["worker"]])
    config["auth"] = {"ssh_user": getpass.getuser(), "ssh_private_key": "~/.ssh/id_ed25519"}
    gcs = ports["head"]["port"]
    config["head_start_ray_commands"] = _ray_start(
        config["head_start_ray_commands"],
        "ray start --head",
        ["--port=6379", "--object-manager-port=8076", "--num-cpus=0"],
        {**ports["head"], "num-cpus": 1},
    )
    config["worker_start_ray_commands"] = _ray_start(
        config["worker_start_ray_commands"],
        "ray start --address",
        ["--address=$RAY_HEAD_IP:6379", "--object-manager-port=8076"],
        {
            "address": f"$RAY_HEAD_IP:{gcs}",
            **ports["worker"],
            "node-ip-address": HOSTS["worker"],
            "num-cpus": 1,
        },
    )
    return config


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path], check=True)


def _prepare(base: Path, home_seen_inside: str, ssh_ports: dict, ray_ports: dict) -> None:
    """The private home: a throw-away client key both hosts accept, ssh's port for each, an
    sshd configuration per host, and the cluster file. Paths as seen in the namespace."""
    home = base / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    home.chmod(0o700)
    (home / "sshd").mkdir()
    _keygen(home / ".ssh" / "id_ed25519")
    _keygen(home / "sshd" / "host_key")
    shutil.copy(home / ".ssh" / "id_ed25519.pub", home / ".ssh" / "authorized_keys")
    (home / ".bashrc").touch()  # the launcher sources it, as on any host
    (home / ".ssh" / "config").write_text(
        "".join(
            f"Host {HOSTS[host]}\n  Port {port}\n  IdentityFile ~/.ssh/id_ed25519\n"
            "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n"
            for host, port in ssh_ports.items()
        )
    )
    locked = pwd.getpwuid(os.geteuid()).pw_passwd.startswith("!")  # refused without PAM
    for host, port in ssh_ports.items():
        (home / "sshd" / f"{host}_config").write_text(
            f"Port {port}\nListenAddress {HOSTS[host]}\n"
            f"HostKey {home_seen_inside}/sshd/host_key\n"
            f"PidFile {home_seen_inside}/sshd/{host}.pid\n"
            "AuthorizedKeysFile .ssh/authorized_keys\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            f"UsePAM {'yes' if locked else 'no'}\nPrintMotd no\nX11Forwarding no\n"
            "MaxStartups 100\nMaxSessions 100\n"
        )
    raw = yaml.safe_load((ROOT / "ray_cluster.onprem.yaml").read_text())
    (home / "cluster.yaml").write_text(yaml.safe_dump(_on_this_machine(raw, ray_ports)))


def _under_home(real_home: Path, paths: list[Path]) -> list[str]:
    """The top-level entries of the real home that these paths lie in (bound back into the
    private home so that the client's Python and this repository stay reachable)."""
    tops = set()
    for path in paths:
        path = path.resolve()
        if path.is_relative_to(real_home) and path != real_home:
            tops.add(path.relative_to(real_home).parts[0])
    return sorted(tops)


def _under_tmp(paths: list[Path]) -> list[str]:
    """The paths that lie under /tmp (a clone there, its virtual environment), outermost
    only: each host's private /tmp would hide them, so the scenario binds them back."""
    tmp = Path("/tmp").resolve()
    kept: list[Path] = []
    for path in sorted(Path(os.path.abspath(p)) for p in paths):  # parents sort first
        if path.is_relative_to(tmp) and not any(path.is_relative_to(k) for k in kept):
            kept.append(path)
    return [str(p) for p in kept]


def _fingerprint(directory: Path) -> dict[str, str]:
    """Every file under `directory` with its mode and a hash of its contents."""
    if not directory.exists():
        return {}
    return {
        str(p.relative_to(directory)): f"{p.stat().st_mode:o} "
        + (hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "")
        for p in sorted(directory.rglob("*"))
    } | {".": f"{directory.stat().st_mode:o}"}


def _namespace_processes(unshare_pid: int) -> list[str]:
    """ "PID:COMM" of every process in the PID namespace whose init `unshare_pid` forked."""
    proc = Path("/proc")

    def field(pid: Path, name: str) -> str:
        try:
            return (pid / name).read_text().strip() if name == "comm" else os.readlink(pid / name)
        except OSError:  # gone meanwhile
            return ""

    inits = [p for p in proc.glob("[0-9]*") if _ppid(p) == unshare_pid]
    if not inits:
        return []
    namespace = field(inits[0], "ns/pid")
    return [
        f"{p.name}:{field(p, 'comm')}"
        for p in proc.glob("[0-9]*")
        if field(p, "ns/pid") == namespace
    ]


def _ppid(pid: Path) -> int | None:
    try:
        return int((pid / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _wait_until_only_sshd(unshare_pid: int, timeout_s: float) -> int | None:
    """Seconds until the namespace runs nothing but sshd, or None after `timeout_s`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if all(p.endswith(":sshd") for p in _namespace_processes(unshare_pid)):
            return round(time.monotonic() - started)
        time.sleep(1)
    return None


@pytest.mark.timeout(LIMIT_S + WORKER_GRACE_S + 300)
def test_ray_up_a_sweep_and_ray_down_on_this_machine(sshd, tmp_path):
    real_home = Path(pwd.getpwuid(os.geteuid()).pw_dir)
    untouched = {d: _fingerprint(real_home / d) for d in (".ssh", ".ray")}
    free = iter(_free_ports(2 + 2 * len(NODE_PORT_FLAGS) + len(HEAD_PORT_FLAGS)))
    ssh_ports = {host: next(free) for host in HOSTS}
    ray_ports = {
        "head": {flag: next(free) for flag in HEAD_PORT_FLAGS + NODE_PORT_FLAGS},
        "worker": {flag: next(free) for flag in NODE_PORT_FLAGS},
    }
    _prepare(tmp_path, str(real_home), ssh_ports, ray_ports)
    privsep = Path("/run/sshd")  # sshd refuses to start without it
    own_privsep = not privsep.exists()
    privsep.mkdir(mode=0o755, parents=True, exist_ok=True)

    client_bin = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "BETASWEEP_"))}
    env.update(
        BASE=str(tmp_path),
        REAL_HOME=str(real_home),
        # pip's configuration on this machine (its indexes, e.g. a local wheel directory)
        # holds for the hosts too; its cache saves downloading twice.
        BIND_RO=" ".join(
            _under_home(real_home, [ROOT, client_bin, Path(sys.base_prefix), Path(sshd)])
            + [p for p in [".config/pip"] if (real_home / p).is_dir()]
        ),
        BIND_RW=" ".join(p for p in [".cache/pip"] if (real_home / p).is_dir()),
        KEEP_TMP=" ".join(_under_tmp([ROOT, client_bin, Path(sys.base_prefix)])),
        REPO=str(ROOT),
        CLIENT_BIN=str(client_bin),
        SWEEP=SWEEP,
        NAME=NAME,
        SSHD=sshd,
        PYTHONUNBUFFERED="1",
    )
    command = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "bash", SCENARIO]
    for host in HOSTS:
        (tmp_path / f"{host}-tmp").mkdir(mode=0o1777)
    log_path, worker_log = tmp_path / "onprem.log", tmp_path / "worker.log"
    worker = None
    try:
        with log_path.open("w") as log, worker_log.open("w") as wlog:
            worker = subprocess.Popen(
                command,
                env={**env, "ROLE": "worker", "HOST_TMP": str(tmp_path / "worker-tmp")},
                stdout=wlog,
                stderr=subprocess.STDOUT,
            )
            scenario = subprocess.Popen(
                command,
                env={**env, "ROLE": "head", "HOST_TMP": str(tmp_path / "head-tmp")},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                code = scenario.wait(timeout=LIMIT_S)
            except subprocess.TimeoutExpired:
                scenario.kill()  # unshare, by its id: --kill-child then ends the namespace
                scenario.wait()
                code = "timeout"
            # After `ray down` and the `ray stop` on the worker, only its sshd is left there.
            ended_after = _wait_until_only_sshd(worker.pid, WORKER_GRACE_S)
            left_on_worker = _namespace_processes(worker.pid)
        output = log_path.read_text()
        print(output)
        assert code == 0, f"the scenario ended with {code}:\n{output[-6000:]}"
        steps = (
            "ray up completed",
            "sweep completed",
            "ray down completed",
            "ray stop on the worker completed",
        )
        for step in steps:
            assert f"] {step}" in output
        assert ended_after is not None, f"Ray still runs on the worker: {left_on_worker}"

        sweep_dir = tmp_path / "home" / "sweeps" / NAME  # the head's ~/sweeps
        rows = read_dataset(sweep_dir / "results").to_pylist()
        trials = read_table(sweep_dir / "trials.parquet", "trials").to_pylist()
        keys = [(r["trial_id"], r["step"]) for r in rows]
        assert rows and len(keys) == len(set(keys)), "rows missing or written twice"
        assert len(trials) == TRIALS
        assert {t["status"] for t in trials} <= {"terminated", "stopped-early"}, trials
        assert {r["trial_id"] for r in rows} == {t["trial_id"] for t in trials}
        assert len({r["node_id"] for r in rows}) == 2  # trials ran on the head and the worker
        assert all(t["steps_done"] == max(s for i, s in keys if i == t["trial_id"]) for t in trials)

        left = [line.split() for line in (tmp_path / "home" / "left.txt").read_text().splitlines()]
        assert [comm for pid, comm in left if pid != "1"] == ["ps"], left  # nothing else runs
        assert {d: _fingerprint(real_home / d) for d in (".ssh", ".ray")} == untouched
    finally:
        if worker is not None:
            worker.kill()  # its unshare, by its id: the worker host's namespace ends with it
            worker.wait()
        if own_privsep:
            privsep.rmdir()
        shutil.rmtree(tmp_path / "home", ignore_errors=True)  # the head's virtual environment
