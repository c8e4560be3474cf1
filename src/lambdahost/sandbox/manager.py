"""``EnvironmentManager``: runs Lambda functions in environments forked from a zygote.

Lives on the platform's event loop (asyncio or uvloop). It owns the zygote
(``zygote_client.py``), the pool of generic pre-forked environments, the warm
environments per ``EnvSpec.key`` and the memory cgroups (``cgroups.py``). One
environment runs one invocation at a time (``env.py``); idle ones are frozen and
reaped after ``idle_timeout_s`` by a periodic sweep whose decisions are pure
(``policy.py``). Function-caused failures become ``InvokeResult`` outcomes; only
platform failures (closed manager, zygote unable to fork, capacity) raise
``SandboxError``.

Runtime-API runtimes (``EnvSpec.launch``: ``provided.*`` bootstraps, Node.js, Python with
extensions) take the same generic environments; ``exec_pool.py`` routes them and
``exec_env.py`` drives each one through its own Runtime API. Provisioned concurrency
lives in ``provisioning.py``, SnapStart templates and restores in ``snapstart.py``, the
host's limits (environment count, memory budget, LRU eviction) in ``capacity.py``.

Isolation per environment: own session/process group, memory cgroup limit
(``memory_mb``; falls back to RLIMIT_AS when no writable cgroup exists), private
mount namespace with a tmpfs ``/tmp`` of ``ephemeral_mb`` (falls back to a per-env
directory exported as ``TMPDIR``), read-only code dir. The network namespace is
shared on purpose: functions call the platform's API over loopback. Pages of the
tmpfs ``/tmp`` are charged to the env's memory cgroup, so /tmp usage counts
against ``memory_mb`` (on Lambda /tmp is disk). Functions run with the platform's
uid: this is resource isolation and scale-to-zero, not a security boundary yet.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import os
import re
import resource
import shutil
import socket
from typing import Any

from lambdahost.sandbox import policy
from lambdahost.sandbox.capacity import HostCapacityMixin
from lambdahost.sandbox.cgroups import CgroupTree
from lambdahost.sandbox.env import Env, Reply
from lambdahost.sandbox.exec_pool import ExecPoolMixin, write_hosts_file
from lambdahost.sandbox.provisioning import ProvisioningMixin
from lambdahost.sandbox.snapstart import SnapshotError, SnapStartMixin, Template
from lambdahost.sandbox.types import (
    EnvInfo,
    EnvSpec,
    EnvState,
    InvokeRequest,
    InvokeResult,
    Outcome,
    SandboxError,
    SandboxSettings,
)
from lambdahost.sandbox.zygote_client import ZygoteClient

_GENERIC_FAILURE_LIMIT = 5
_POOL_MEMORY_MB = 128  # the CPU weight new environments get before assignment (Lambda's default)


def _ensure_ascii(spec: EnvSpec) -> bool:
    """awslambdaric emits ``ensure_ascii=False`` JSON on python3.12 and later."""
    m = re.search(r"python3\.(\d+)", spec.environ.get("AWS_EXECUTION_ENV", "") or spec.runtime)
    return not (m is not None and int(m.group(1)) >= 12)


class EnvironmentManager(HostCapacityMixin, ProvisioningMixin, ExecPoolMixin, SnapStartMixin):
    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self._clock = settings.clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._zygote: ZygoteClient | None = None
        self._cgtree: CgroupTree | None = None
        self._tmp_mode = "dir"
        self._ids = itertools.count(1)
        self._tags: dict[int, tuple[str | None, str | None]] = {}  # fork tag -> (cgroup, tmpdir)
        self._generic: collections.deque[Env] = collections.deque()
        self._waiters: collections.deque[asyncio.Future[Env]] = collections.deque()
        self._idle: dict[str, list[Env]] = {}
        self._live: dict[int, Env] = {}  # env_id -> env, until it dies
        self._by_pid: dict[int, Env] = {}  # pid -> env, until the zygote reaps it
        self._assigned = 0
        # Memory budget: the memory a new environment of a key is expected to use (the most
        # an idle one of that key was seen using).
        self._estimates: dict[str, int] = {}
        self._reserved = 0
        self._dirty_cgroups: list[str] = []
        self._dirty_dirs: list[str] = []
        self._generic_failures = 0
        # Provisioned concurrency: key -> (spec, number of environments to keep initialised).
        self._targets: dict[str, tuple[EnvSpec, int]] = {}
        self._refilling: set[str] = set()
        # Runtime-API environments (exec_pool.py).
        self._shared: dict[str, list[Env]] = {}
        self._retiring: set[asyncio.Task[None]] = set()
        self._hosts_file: str | None = None
        # SnapStart (snapstart.py): key -> template, and templates being made.
        self._templates: dict[str, Template] = {}
        self._snapshotting: dict[str, asyncio.Task[Template]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._restarting: asyncio.Task[None] | None = None
        self._started = False
        self._closed = False
        self._closing = False
        self.zygote_errors: list[str] = []

    # -- start / close ----------------------------------------------------------------------------
    async def start(self) -> None:
        if self._started:
            raise SandboxError("EnvironmentManager.start() called twice")
        self._started = True
        self._loop = asyncio.get_running_loop()
        s = self.settings
        for sub in ("logs", "pycache", "tmp"):
            os.makedirs(os.path.join(s.work_dir, sub), exist_ok=True)
        self._hosts_file = write_hosts_file(s.work_dir)
        if s.use_cgroups is not False:
            self._cgtree = CgroupTree.create()
            if self._cgtree is None and s.use_cgroups:
                raise SandboxError("memory cgroups requested but not writable here")
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 3 * s.max_environments + 1024  # two fds per env plus headroom
        if soft != resource.RLIM_INFINITY and soft < want:
            with contextlib.suppress(ValueError, OSError):
                new_soft = want if hard == resource.RLIM_INFINITY else min(want, hard)
                resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
        await self._start_zygote()
        if s.use_namespaces and self._tmp_mode != "ns":
            await self.close()
            raise SandboxError("mount namespaces requested but not available here")
        self._sweeper = self._loop.create_task(self._sweep_loop())
        self._refill()
        deadline = self._loop.time() + 2.0
        while len(self._generic) < s.pool_size and self._loop.time() < deadline:
            await asyncio.sleep(0.002)

    async def _start_zygote(self) -> None:
        assert self._loop is not None
        s = self.settings
        tmp = {None: "auto", True: "ns", False: "dir"}[s.use_namespaces]
        cfg: dict[str, Any] = {
            "log_dir": os.path.join(s.work_dir, "logs"),
            "tmp": tmp,
            "eph": 512,
            "pycache": os.path.join(s.work_dir, "pycache"),
            "preload": list(s.preload_modules),
        }
        zygote = ZygoteClient(
            self._loop,
            s.python,
            cfg,
            self._on_forked,
            self._on_fork_failed,
            self._on_exited,
            self._on_zygote_lost,
        )
        hello = await zygote.start()
        self._zygote = zygote
        self._tmp_mode = "ns" if hello.get("ns") else "dir"
        self.zygote_errors = list(hello.get("errors", []))

    async def close(self) -> None:
        """Kill every environment and the zygote, reap them, remove cgroups and dirs."""
        if self._closed or self._closing:
            return
        self._closing = True
        for task in (self._sweeper, self._restarting):
            if task is not None:
                task.cancel()
        await self._retire_all()
        self._drop_templates("")
        self._closed = True
        for env in list(self._live.values()):
            env.abort()
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_exception(SandboxError("the sandbox is closing"))
        if self._zygote is not None:
            await self._zygote.close()
            self._zygote = None
        for env in list(self._by_pid.values()):
            self._cleanup(env)
        self._by_pid.clear()
        for cg, tmpdir in self._tags.values():
            self._forget(cg, tmpdir)
        self._tags.clear()
        for _ in range(200):
            self._clean_dirty()
            if not self._dirty_cgroups:
                break
            await asyncio.sleep(0.01)
        if self._cgtree is not None:
            self._cgtree.remove_base()

    # -- invoke -----------------------------------------------------------------------------------
    async def invoke(self, spec: EnvSpec, request: InvokeRequest) -> InvokeResult:
        if self._closed or not self._started:
            raise SandboxError("the sandbox is not running")
        if spec.launch is not None:
            return await self._invoke_exec(spec, request)
        stack = self._idle.get(spec.key)
        if stack:
            env = stack.pop()
            if not stack:
                del self._idle[spec.key]
            fut = env.start_warm(request)
            cold = False
        elif spec.snap_start:
            try:
                env, made = await self._restore(spec)
            except SnapshotError as e:  # the snapshot had to be made again, and failed
                return InvokeResult(
                    Outcome.INIT_ERROR, e.body(), e.error_type, e.log, 0.0, e.init_ms, 0, True
                )
            env.snapshot_made = made
            fut = env.start_restored(spec, request)
            cold = True
        else:
            env = await self._acquire_generic(spec.memory_mb, spec.key)
            fut = env.start_cold(
                spec, request, self._assign_meta(spec, env), self.settings.init_timeout_s
            )
            cold = True
        reply = await fut
        result = env.to_result(reply, cold)
        self._after(env, reply)
        return result

    def _assign_meta(self, spec: EnvSpec, env: Env) -> dict[str, Any]:
        rlimit = env.cgroup is None
        if env.cgroup is not None and self._cgtree is not None:
            try:
                self._cgtree.set_limit(env.cgroup, spec.memory_mb)
            except OSError:
                rlimit = True
            if spec.memory_mb != _POOL_MEMORY_MB or spec.cpu_limit is not None:
                # (pool environments have the default weight already)
                self._cgtree.set_cpu(env.cgroup, spec.memory_mb, spec.cpu_limit)
        env.max_log = self.settings.max_log_bytes
        return {
            "key": spec.key,
            "name": spec.function_name,
            "code_dir": spec.code_dir,
            "handler": spec.handler,
            "environ": dict(spec.environ),
            "mem": spec.memory_mb,
            "eph": spec.ephemeral_mb,
            "timeout": spec.timeout_s,
            "rlimit": rlimit,
            "ascii": _ensure_ascii(spec),
            "log_limit": self.settings.max_log_bytes,
            "opt": spec.opt_dir,
        }

    def _after(self, env: Env, reply: Reply) -> None:
        """Return the env to its key's idle stack, or get rid of it."""
        env.last_used = self._clock.monotonic()
        env.last_used_wall = self._clock.time()
        if reply.kind == "result":
            env.invocations += 1
            self._generic_failures = 0
        if (
            reply.kind == "result"
            and env.state is EnvState.INVOKING
            and not env.doomed
            and not self._closed
            and env.key is not None
        ):
            env.lifecycle.move(EnvState.IDLE)
            assert self._loop is not None
            # Measure and freeze on the next loop iteration, after the caller got its result
            # (an env that is invoked again right away, a hot function, is never stopped).
            if self._measure_due(env):
                self._loop.call_soon(self._measure, env)
            if self.settings.freeze_idle:
                self._loop.call_soon(env.freeze_if_idle)
            self._idle.setdefault(env.key, []).append(env)
        else:
            env.kill()

    def _released_after_cancel(self, env: Env, reply: Reply) -> None:
        self._after(env, reply)

    async def _acquire_generic(self, memory_mb: int = 0, key: str = "") -> Env:
        self._make_room(memory_mb, key)
        self._reserved += 1
        try:
            while True:
                if self._generic:
                    env = self._generic.popleft()
                else:
                    assert self._loop is not None
                    fut: asyncio.Future[Env] = self._loop.create_future()
                    self._waiters.append(fut)
                    self._refill()
                    env = await fut
                if env.lifecycle.alive:
                    break
        finally:
            self._reserved -= 1
        self._count_assigned(env, memory_mb, key)
        assert self._loop is not None
        self._loop.call_soon(self._refill)  # after the env got its assignment
        return env

    # -- pool of generic environments ------------------------------------------------------------
    def _refill(self) -> None:
        zygote = self._zygote
        if zygote is None or zygote.sock is None or self._closed:
            return
        while self._waiters and self._waiters[0].done():
            self._waiters.popleft()
        target = self.settings.pool_size
        if self._generic_failures >= _GENERIC_FAILURE_LIMIT:
            target = 0  # generic envs keep dying during set-up: fork only for waiters
        for _ in range(
            policy.forks_needed(len(self._generic), len(self._tags), len(self._waiters), target)
        ):
            tag = next(self._ids)
            cg, peak, tmpdir = self._new_slot(tag)
            self._tags[tag] = (cg, tmpdir)
            zygote.request_fork(tag, cg, peak, tmpdir, self._extra_cgroups(cg))

    def _extra_cgroups(self, cg: str | None) -> list[str]:
        if cg is None or self._cgtree is None:
            return []
        return self._cgtree.extra_paths(cg)

    def _new_slot(self, tag: int) -> tuple[str | None, str | None, str | None]:
        """A new environment's memory cgroup (and its peak file) and, without mount
        namespaces, its /tmp directory."""
        cg: str | None = None
        peak: str | None = None
        if self._cgtree is not None:
            try:
                cg = self._cgtree.new()
                peak = self._cgtree.peak_file(cg) or None
                self._cgtree.set_cpu(cg, _POOL_MEMORY_MB)
            except OSError:
                cg = None
        tmpdir: str | None = None
        if self._tmp_mode != "ns":
            tmpdir = os.path.join(self.settings.work_dir, "tmp", f"env-{tag}")
            os.makedirs(tmpdir, mode=0o1777, exist_ok=True)
        return cg, peak, tmpdir

    def _on_forked(self, tag: int, pid: int, chan_fd: int, log_fd: int) -> None:
        cg, tmpdir = self._tags.pop(tag, (None, None))
        env = self._new_env(tag, pid, chan_fd, log_fd, cg, tmpdir)
        if self._closed:
            env.kill()
            return
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(env)
                return
        self._generic.append(env)

    def _new_env(
        self, tag: int, pid: int, chan_fd: int, log_fd: int, cg: str | None, tmpdir: str | None
    ) -> Env:
        assert self._loop is not None
        sock = socket.socket(fileno=chan_fd)
        env = Env(
            tag,
            pid,
            sock,
            log_fd,
            cg,
            self._cgtree,
            tmpdir,
            self._loop,
            self._on_dead,
            self._clock.time(),
            self._clock.monotonic(),
        )
        env.released = self._released_after_cancel
        self._live[env.env_id] = env
        self._by_pid[pid] = env
        return env

    def _on_fork_failed(self, tag: int, error: str) -> None:
        cg, tmpdir = self._tags.pop(tag, (None, None))
        self._forget(cg, tmpdir)
        self._generic_failures += 1
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_exception(SandboxError(f"fork failed: {error}"))
                break

    def _on_exited(self, pid: int, status: int, maxrss_kb: int) -> None:
        env = self._by_pid.pop(pid, None)
        if env is None:
            return
        if env.key is None and not env.standby:
            self._generic_failures += 1
        env.on_exit(status, maxrss_kb)
        self._cleanup(env)

    def _on_dead(self, env: Env) -> None:
        self._live.pop(env.env_id, None)
        if env.provisioned and env.key and not self._closed:
            self._replace_provisioned(env.key)
        if env.key is not None:
            self._assigned -= 1
            self._unpool(env)
        else:
            with contextlib.suppress(ValueError):
                self._generic.remove(env)
        self._refill()

    def _cleanup(self, env: Env) -> None:
        env.close_log()
        self._forget(env.cgroup, env.tmpdir)

    def _forget(self, cg: str | None, tmpdir: str | None) -> None:
        if cg is not None and self._cgtree is not None:
            self._cgtree.kill_all(cg)
            if not self._cgtree.remove(cg):
                self._dirty_cgroups.append(cg)
        if tmpdir is not None:
            self._dirty_dirs.append(tmpdir)

    def _clean_dirty(self) -> None:
        if self._cgtree is not None and self._dirty_cgroups:
            tree = self._cgtree
            keep = []
            for cg in self._dirty_cgroups:
                tree.kill_all(cg)
                if not tree.remove(cg):
                    keep.append(cg)
            self._dirty_cgroups = keep
        while self._dirty_dirs:
            shutil.rmtree(self._dirty_dirs.pop(), ignore_errors=True)

    # -- zygote loss ------------------------------------------------------------------------------
    def _on_zygote_lost(self) -> None:
        """All envs die with the zygote (pdeathsig): settle them, then restart it."""
        self._zygote = None
        for env in list(self._by_pid.values()):
            env.abort()
            self._cleanup(env)
        self._by_pid.clear()
        for cg, tmpdir in self._tags.values():
            self._forget(cg, tmpdir)
        self._tags.clear()
        if not self._closed and self._loop is not None and self._restarting is None:
            self._restarting = self._loop.create_task(self._restart_zygote())

    async def _restart_zygote(self) -> None:
        try:
            while not self._closed:
                try:
                    await self._start_zygote()
                except SandboxError:
                    await asyncio.sleep(1.0)
                    continue
                self._refill()
                return
        finally:
            self._restarting = None

    # -- sweeping, discard, snapshot --------------------------------------------------------------
    async def _sweep_loop(self) -> None:
        interval = policy.sweep_interval(
            self.settings.idle_timeout_s, self.settings.sweep_interval_s
        )
        while True:
            await asyncio.sleep(interval)
            self.sweep()

    def sweep(self) -> None:
        """Reap idle environments past ``idle_timeout_s``; retry leftover cleanups."""
        entries = [
            policy.IdleEntry(e.env_id, k, e.last_used)
            for pools in (self._idle, self._shared)
            for k, st in pools.items()
            for e in st
            if not e.provisioned and not e.busy
        ]
        for env_id in policy.expired(
            entries, self._clock.monotonic(), self.settings.idle_timeout_s
        ):
            env = self._live.get(env_id)
            if env is not None:
                self._retire(env, "spindown")
        self._reap_templates()
        if self.settings.memory_budget_mb is not None:
            for env in self._live.values():  # idle ones grow too (caches, /tmp)
                if env.state in (EnvState.GENERIC, EnvState.IDLE, EnvState.TEMPLATE):
                    env.sample_usage()
        self._clean_dirty()

    def discard(self, key_prefix: str) -> None:
        """Kill idle envs whose key starts with ``key_prefix``; busy ones die after their
        current invocation instead of going back to the pool."""
        for key in [k for k in self._targets if k.startswith(key_prefix)]:
            del self._targets[key]
        self._drop_templates(key_prefix)
        for env in list(self._live.values()):
            if env.key is None or not env.key.startswith(key_prefix):
                continue
            if env.state is EnvState.IDLE and not env.busy:
                self._retire(env, "spindown")
            else:
                env.doomed = True

    def snapshot(self) -> list[EnvInfo]:
        return [
            EnvInfo(e.key or None, e.pid, e.state, e.created, e.last_used_wall, e.invocations)
            for e in self._live.values()
        ]

    @property
    def zygote_pid(self) -> int | None:
        return self._zygote.pid if self._zygote is not None else None

    @property
    def isolation(self) -> dict[str, str]:
        """Which mechanisms are in use (for logs and ``lambdahost`` status output)."""
        cg = "none (RLIMIT_AS)" if self._cgtree is None else f"cgroup v{self._cgtree.version}"
        tmp = "tmpfs in mount namespace" if self._tmp_mode == "ns" else "per-env dir (TMPDIR)"
        return {"memory": cg, "tmp": tmp}
