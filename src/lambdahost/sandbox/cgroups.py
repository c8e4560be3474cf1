"""Memory and CPU cgroups for environments (manager side): find, create, limit, kill, remove.

Layout: ``<platform's own memory cgroup>/lambdahost-<platform pid>/env-<n>``; siblings
of the platform's cgroup are never touched. v1 (``memory.limit_in_bytes`` and
``memory.memsw.limit_in_bytes``, peak ``memory.max_usage_in_bytes``) is what the CI/dev
machines have; v2 (``memory.max``, ``memory.swap.max``, ``memory.peak``) is used when the machine is
pure v2 and the subtree can get the memory controller. Each generic environment gets
a fresh cgroup when it is forked (so the pool of pre-forked environments is also the
pool of pre-created cgroups) and attaches itself by writing ``0`` to ``cgroup.procs``.

CPU in proportion to memory, as Lambda allocates it (1,769 MB is one vCPU): on v1 each env
also gets a cgroup in the ``cpu`` hierarchy (same name, under the platform's own cpu cgroup)
with ``cpu.shares`` proportional to its MemorySize; on v2 ``cpu.weight`` in the same
directory. All environments together sit in one parent whose weight is one vCPU's per host
CPU, so they share the host fairly with the platform, and among themselves by memory size.
This is a proportion under contention, not a cap: an idle host lets any env use a whole CPU.
Environments of Managed Instances functions also get a hard cap (CFS quota) of the vCPUs
their provider allots them, so they stay within the provider's budget.

Processes and threads: each env's ``pids.max`` is 1,024 (Lambda's per-environment quota), so
a fork bomb stops at its own environment (v1: a cgroup in the ``pids`` hierarchy).

Note: pages of the env's tmpfs ``/tmp`` are charged to its memory cgroup, so a
function's /tmp usage counts against its memory size (unlike Lambda, where /tmp is
disk). ``start`` sweeps leftovers of dead platforms: kill, then rmdir.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
from collections.abc import Callable

_V1_ROOT = "/sys/fs/cgroup/memory"
_V1_CPU_ROOT = "/sys/fs/cgroup/cpu"
_V1_PIDS_ROOT = "/sys/fs/cgroup/pids"
MAX_PIDS = 1024  # Lambda's quota: 1,024 execution processes/threads per environment
_V2_ROOT = "/sys/fs/cgroup"
MB_PER_VCPU = 1769  # Lambda: a function with 1,769 MB has the equivalent of one vCPU
_CFS_PERIOD_US = 100_000


def cpu_shares(memory_mb: int) -> int:
    """v1 ``cpu.shares`` for an environment of ``memory_mb`` (1024 = one vCPU)."""
    return max(2, memory_mb * 1024 // MB_PER_VCPU)


def cpu_weight(memory_mb: int) -> int:
    """v2 ``cpu.weight`` for an environment of ``memory_mb`` (100 = one vCPU)."""
    return max(1, min(10000, memory_mb * 100 // MB_PER_VCPU))


def own_cpu_cgroup_v1(proc_cgroup_text: str) -> str | None:
    """Absolute dir of this process's v1 ``cpu`` cgroup, from /proc/self/cgroup."""
    return _own_v1(proc_cgroup_text, "cpu", _V1_CPU_ROOT)


def own_pids_cgroup_v1(proc_cgroup_text: str) -> str | None:
    """Absolute dir of this process's v1 ``pids`` cgroup, from /proc/self/cgroup."""
    return _own_v1(proc_cgroup_text, "pids", _V1_PIDS_ROOT)


def _own_v1(proc_cgroup_text: str, controller: str, root: str) -> str | None:
    for line in proc_cgroup_text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and controller in parts[1].split(","):
            return root + parts[2].rstrip("/")
    return None


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _write(path: str, value: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def own_memory_cgroup(proc_cgroup_text: str) -> tuple[int, str] | None:
    """(version, absolute dir) of this process's memory cgroup, from /proc/self/cgroup."""
    v2_path: str | None = None
    for line in proc_cgroup_text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if "memory" in controllers.split(","):
            return 1, _V1_ROOT + path.rstrip("/")
        if controllers == "":
            v2_path = path
    if v2_path is not None and os.path.exists(os.path.join(_V2_ROOT, "cgroup.controllers")):
        return 2, _V2_ROOT + v2_path.rstrip("/")
    return None


class CgroupTree:
    """The platform's ``lambdahost-<pid>`` subtree and the env cgroups in it."""

    def __init__(self, version: int, base: str) -> None:
        self.version = version
        self.base = base
        self._ids = itertools.count(1)
        self.has_memsw = False
        self.cpu_base: str | None = None  # v1: the cpu hierarchy's lambdahost-<pid> dir
        self.cpu_v2 = False  # v2: cpu.weight is available in the env dirs
        self.pids_base: str | None = None  # v1: the pids hierarchy's lambdahost-<pid> dir
        self.pids_v2 = False  # v2: pids.max is available in the env dirs

    @classmethod
    def create(cls) -> CgroupTree | None:
        """Make the subtree under the platform's own memory cgroup; None if impossible."""
        try:
            found = own_memory_cgroup(_read("/proc/self/cgroup"))
        except OSError:
            return None
        if found is None:
            return None
        version, own = found
        tree = cls(version, os.path.join(own, f"lambdahost-{os.getpid()}"))
        try:
            tree.sweep_leftovers(own)
            os.makedirs(tree.base, exist_ok=True)
            if version == 2:
                _write(os.path.join(own, "cgroup.subtree_control"), "+memory")
                _write(os.path.join(tree.base, "cgroup.subtree_control"), "+memory")
            probe = tree.new()
            tree.set_limit(probe, 64)
            tree.remove(probe)
        except OSError:
            with contextlib.suppress(OSError):
                os.rmdir(tree.base)
            return None
        tree._enable_cpu(own)
        tree._enable_pids(own)
        return tree

    def _enable_pids(self, own_memory: str) -> None:
        """Cap processes and threads per environment where the machine allows it."""
        if self.version == 2:
            self.pids_v2 = self._enable_v2(own_memory, "pids")
        else:
            self.pids_base = self._v1_base(own_pids_cgroup_v1)

    def _enable_cpu(self, own_memory: str) -> None:
        """Set up CPU weights where the machine allows it (otherwise: memory only)."""
        host_weight = (os.cpu_count() or 1) * 1024
        if self.version == 2:
            self.cpu_v2 = self._enable_v2(
                own_memory, "cpu", ("cpu.weight", cpu_weight(host_weight))
            )
        else:
            self.cpu_base = self._v1_base(own_cpu_cgroup_v1, ("cpu.shares", host_weight))

    def _enable_v2(
        self, own_memory: str, controller: str, setting: tuple[str, int] | None = None
    ) -> bool:
        """Delegate ``controller`` to the env cgroups (v2); False where that is refused."""
        try:
            _write(os.path.join(own_memory, "cgroup.subtree_control"), f"+{controller}")
            _write(os.path.join(self.base, "cgroup.subtree_control"), f"+{controller}")
            if setting is not None:
                _write(os.path.join(self.base, setting[0]), str(setting[1]))
        except OSError:
            return False
        return True

    def _v1_base(
        self, find_own: Callable[[str], str | None], setting: tuple[str, int] | None = None
    ) -> str | None:
        """This platform's ``lambdahost-<pid>`` dir in another v1 hierarchy (None where it
        cannot be made), after sweeping dead platforms' dirs there."""
        try:
            own = find_own(_read("/proc/self/cgroup"))
        except OSError:
            return None
        if own is None:
            return None
        base = os.path.join(own, os.path.basename(self.base))
        try:
            self.sweep_leftovers(own)
            os.makedirs(base, exist_ok=True)
            if setting is not None:
                _write(os.path.join(base, setting[0]), str(setting[1]))
        except OSError:
            with contextlib.suppress(OSError):
                os.rmdir(base)
            return None
        return base

    def sweep_leftovers(self, own: str) -> None:
        """Kill and remove ``lambdahost-<pid>`` subtrees whose platform is gone."""
        with contextlib.suppress(OSError):
            for name in os.listdir(own):
                if not name.startswith("lambdahost-"):
                    continue
                pid = name.removeprefix("lambdahost-")
                if pid.isdigit() and (int(pid) == os.getpid() or _alive(int(pid))):
                    continue
                sub = os.path.join(own, name)
                for child in os.listdir(sub):
                    path = os.path.join(sub, child)
                    if os.path.isdir(path):
                        self.kill_all(path)
                        self.remove(path)
                with contextlib.suppress(OSError):
                    os.rmdir(sub)

    # -- per environment ------------------------------------------------------------------
    def new(self) -> str:
        path = os.path.join(self.base, f"env-{next(self._ids)}")
        os.mkdir(path)
        if self.version == 1:
            self.has_memsw = os.path.exists(os.path.join(path, "memory.memsw.limit_in_bytes"))
            for extra in self.extra_paths(path):
                with contextlib.suppress(FileExistsError):
                    os.mkdir(extra)
        with contextlib.suppress(OSError):
            pids = self._pids_path(path)
            if pids is not None:
                _write(os.path.join(pids, "pids.max"), str(MAX_PIDS))
        return path

    def extra_paths(self, path: str) -> list[str]:
        """The v1 cgroups (cpu, pids) an env of memory cgroup ``path`` also joins; none on
        v2, where one directory holds every controller."""
        name = os.path.basename(path)
        return [os.path.join(base, name) for base in (self.cpu_base, self.pids_base) if base]

    def _pids_path(self, path: str) -> str | None:
        if self.pids_base is not None:
            return os.path.join(self.pids_base, os.path.basename(path))
        return path if self.pids_v2 else None

    def cpu_path(self, path: str) -> str | None:
        """The v1 cpu cgroup an env of memory cgroup ``path`` also joins (None on v2: the
        same directory holds both controllers)."""
        if self.cpu_base is None:
            return None
        return os.path.join(self.cpu_base, os.path.basename(path))

    def set_cpu(self, path: str, memory_mb: int, cap_vcpus: float | None = None) -> None:
        """Give the env a CPU weight in proportion to its memory size and, with
        ``cap_vcpus``, a hard cap of that many CPUs (best effort)."""
        quota = None if cap_vcpus is None else max(1000, int(cap_vcpus * _CFS_PERIOD_US))
        with contextlib.suppress(OSError):
            cpu = self.cpu_path(path)
            if cpu is not None:
                _write(os.path.join(cpu, "cpu.shares"), str(cpu_shares(memory_mb)))
                if quota is not None:
                    _write(os.path.join(cpu, "cpu.cfs_period_us"), str(_CFS_PERIOD_US))
                    _write(os.path.join(cpu, "cpu.cfs_quota_us"), str(quota))
            elif self.cpu_v2:
                _write(os.path.join(path, "cpu.weight"), str(cpu_weight(memory_mb)))
                if quota is not None:
                    _write(os.path.join(path, "cpu.max"), f"{quota} {_CFS_PERIOD_US}")

    def peak_file(self, path: str) -> str:
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        full = os.path.join(path, name)
        return full if self.version == 1 or os.path.exists(full) else ""

    def set_limit(self, path: str, memory_mb: int) -> None:
        limit = str(memory_mb << 20)
        if self.version == 2:
            _write(os.path.join(path, "memory.max"), limit)
            with contextlib.suppress(OSError):
                _write(os.path.join(path, "memory.swap.max"), "0")
            with contextlib.suppress(OSError):
                _write(os.path.join(path, "memory.oom.group"), "1")
            return
        mem = os.path.join(path, "memory.limit_in_bytes")
        if not self.has_memsw:
            _write(mem, limit)
            return
        memsw = os.path.join(path, "memory.memsw.limit_in_bytes")
        try:  # memsw must stay >= limit: lower the limit first, raise memsw first
            _write(mem, limit)
            _write(memsw, limit)
        except OSError:
            _write(memsw, limit)
            _write(mem, limit)

    def peak_mb(self, path: str) -> int:
        peak = self.peak_file(path)
        try:
            return (int(_read(peak)) + (1 << 20) - 1) >> 20 if peak else 0
        except (OSError, ValueError):
            return 0

    def usage_mb(self, path: str) -> int:
        """Memory charged to the cgroup now (its private pages, tmpfs and page cache)."""
        name = "memory.usage_in_bytes" if self.version == 1 else "memory.current"
        try:
            return (int(_read(os.path.join(path, name))) + (1 << 20) - 1) >> 20
        except (OSError, ValueError):
            return 0

    def pids(self, path: str) -> list[int]:
        try:
            return [int(x) for x in _read(os.path.join(path, "cgroup.procs")).split()]
        except (OSError, ValueError):
            return []

    def kill_all(self, path: str) -> None:
        """SIGKILL every process in the cgroup (including setsid'd descendants)."""
        if self.version == 2:
            with contextlib.suppress(OSError):
                _write(os.path.join(path, "cgroup.kill"), "1")
                return
        for _ in range(8):
            pids = self.pids(path)
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)

    def remove(self, path: str) -> bool:
        for extra in self.extra_paths(path):
            with contextlib.suppress(OSError):
                os.rmdir(extra)
        try:
            os.rmdir(path)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return True

    def remove_base(self) -> bool:
        with contextlib.suppress(OSError):
            for child in os.listdir(self.base):
                path = os.path.join(self.base, child)
                if os.path.isdir(path):
                    self.kill_all(path)
                    self.remove(path)
        for extra_base in (self.cpu_base, self.pids_base):
            if extra_base is None:
                continue
            with contextlib.suppress(OSError):
                for child in os.listdir(extra_base):
                    with contextlib.suppress(OSError):
                        os.rmdir(os.path.join(extra_base, child))
                os.rmdir(extra_base)
        try:
            os.rmdir(self.base)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
