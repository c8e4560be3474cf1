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


def test_own_cpu_cgroup_v1() -> None:
    from lambdahost.sandbox.cgroups import own_cpu_cgroup_v1

    assert own_cpu_cgroup_v1(HYBRID) == "/sys/fs/cgroup/cpu"
    assert own_cpu_cgroup_v1("2:cpuacct:/x\n3:cpu:/a/b\n") == "/sys/fs/cgroup/cpu/a/b"
    assert own_cpu_cgroup_v1("4:memory:/\n") is None


def test_cpu_in_proportion_to_memory() -> None:
    from lambdahost.sandbox.cgroups import cpu_shares, cpu_weight

    assert cpu_shares(1769) == 1024 and cpu_weight(1769) == 100  # one vCPU
    assert cpu_shares(3538) == 2048 and cpu_weight(10240) == 578
    assert cpu_shares(128) == 74 and cpu_weight(128) == 7
    assert cpu_shares(1) == 2 and cpu_weight(1) == 1  # the kernels' minimums


def test_own_pids_cgroup_v1() -> None:
    from lambdahost.sandbox.cgroups import own_pids_cgroup_v1

    assert own_pids_cgroup_v1(HYBRID) == "/sys/fs/cgroup/pids"
    assert own_pids_cgroup_v1("4:memory:/\n") is None
