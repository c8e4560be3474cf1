"""Finding the platform's own memory cgroup (pure part of lambdahost.sandbox.cgroups)."""

from __future__ import annotations

from lambdahost.sandbox.cgroups import own_memory_cgroup

HYBRID = """9:name=systemd:/
8:pids:/
4:memory:/process_api/2109f2b7
1:cpu,cpuacct:/
0::/
"""


def test_v1_memory_line_wins() -> None:
    assert own_memory_cgroup(HYBRID) == (1, "/sys/fs/cgroup/memory/process_api/2109f2b7")


def test_v1_root_cgroup() -> None:
    assert own_memory_cgroup("4:memory:/\n") == (1, "/sys/fs/cgroup/memory")


def test_no_memory_controller() -> None:
    assert own_memory_cgroup("8:pids:/\n") is None
