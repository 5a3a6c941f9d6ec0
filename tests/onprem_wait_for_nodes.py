"""Wait until the Ray cluster this host belongs to has N live nodes (tests/onprem_cluster.sh
runs it on the head: `python onprem_wait_for_nodes.py N TIMEOUT_S`); exit 1 on timeout.

`ray up` returns once the head is up; the head's autoscaler then sets the workers up over
SSH, and a sweep started before they join would not see their CPUs and GPUs."""

from __future__ import annotations

import sys
import time

import ray


def main(wanted: int, timeout_s: float) -> int:
    ray.init(address="auto", logging_level="ERROR")
    deadline = time.monotonic() + timeout_s
    alive: list[str] = []
    while time.monotonic() < deadline:
        alive = sorted(n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"])
        if len(alive) >= wanted:
            print(f"{len(alive)} nodes: {', '.join(alive)}")
            return 0
        time.sleep(2)
    print(f"timed out after {timeout_s:g} s with {len(alive)} of {wanted} nodes: {alive}")
    return 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), float(sys.argv[2])))
