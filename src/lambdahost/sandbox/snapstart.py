"""SnapStart (a mixin of ``EnvironmentManager``): one template per version, restores from it.

``prepare_snapshot(spec)`` initialises a generic environment with the version
(``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``), asks it to snapshot itself (it runs the
before-snapshot hooks) and keeps it as the version's *template*: a process that forks
restored environments on request (``snapshot.py`` is the inside). A cold start of a
SnapStart spec then forks a child of the template instead of initialising a generic
environment: the child starts from the initialised memory, re-seeds randomness, runs the
after-restore hooks and serves the request. One child per template is forked ahead (the
*standby*: set up, not yet restored) so that the cold start skips the fork and the
memory-cgroup join. Restore Duration is the time from taking the standby (or asking for
the fork) to the child's READY; Billed Restore Duration the part inside the child.

Templates are created once per key (concurrent callers share the work), survive as long as
the version's environments may be needed, are dropped by ``discard`` and re-created on
demand (for example after a restart of the platform). Restored environments are ordinary
environments afterwards (idle stacks, freezing, reaping, eviction), with their own memory
cgroup and /tmp; their parent is the template, so they die with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lambdahost.sandbox import results
from lambdahost.sandbox.types import EnvSpec, EnvState, SandboxError
from lambdahost.sandbox.zygote_client import ZygoteClient

if TYPE_CHECKING:
    from lambdahost.core.clock import Clock
    from lambdahost.sandbox.cgroups import CgroupTree
    from lambdahost.sandbox.env import Env
    from lambdahost.sandbox.types import SandboxSettings


@dataclass(frozen=True)
class SnapshotInfo:
    """How the snapshot of a version was made (for its INIT_REPORT)."""

    init_ms: float  # the init phase, including the before-snapshot hooks
    log: str  # what init and the hooks printed


class SnapshotError(SandboxError):
    """The version could not be snapshotted: its init or a before-snapshot hook failed."""

    def __init__(
        self, error_type: str, message: str, log: str = "", init_ms: float | None = None
    ) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.log = log
        self.init_ms = init_ms

    def body(self) -> bytes:
        """The error document an invocation that needed this snapshot answers with."""
        return json.dumps(
            {"errorMessage": self.message, "errorType": self.error_type, "stackTrace": []}
        ).encode()


@dataclass
class _Pending:
    future: asyncio.Future[Env]
    cgroup: str | None
    tmpdir: str | None
    started: float  # perf_counter() when the fork was asked for


@dataclass
class Template:
    spec: EnvSpec
    env: Env
    info: SnapshotInfo
    client: ZygoteClient | None = None
    last_used: float = 0.0  # monotonic time of the last restore (or of its creation)
    pending: dict[int, _Pending] = field(default_factory=dict)
    children: set[int] = field(default_factory=set)
    standby: Env | None = None  # a child forked ahead, waiting for its first request
    standby_task: asyncio.Task[None] | None = None


class SnapStartMixin:
    settings: SandboxSettings
    _clock: Clock
    _loop: asyncio.AbstractEventLoop | None
    _live: dict[int, Env]
    _by_pid: dict[int, Env]
    _cgtree: CgroupTree | None
    _ids: itertools.count[int]
    _closed: bool
    _reserved: int
    _templates: dict[str, Template]
    _snapshotting: dict[str, asyncio.Task[Template]]

    if TYPE_CHECKING:  # provided by the class that mixes this in

        async def _acquire_generic(self, memory_mb: int = 0, key: str = "") -> Env: ...

        def _assign_meta(self, spec: EnvSpec, env: Env) -> dict[str, Any]: ...

        def _make_room(self, memory_mb: int, key: str = "") -> None: ...

        def _count_assigned(self, env: Env, memory_mb: int, key: str = "") -> None: ...

        def _new_slot(self, tag: int) -> tuple[str | None, str | None, str | None]: ...

        def _new_env(
            self,
            tag: int,
            pid: int,
            chan_fd: int,
            log_fd: int,
            cg: str | None,
            tmpdir: str | None,
        ) -> Env: ...

        def _on_exited(self, pid: int, status: int, maxrss_kb: int) -> None: ...

        def _extra_cgroups(self, cg: str | None) -> list[str]: ...

        def _cleanup(self, env: Env) -> None: ...

        def _forget(self, cg: str | None, tmpdir: str | None) -> None: ...

    # -- snapshots --------------------------------------------------------------------------------
    async def prepare_snapshot(self, spec: EnvSpec) -> SnapshotInfo:
        """Initialise ``spec`` once and keep it as the template of its restores.

        Raises ``SnapshotError`` when init or a before-snapshot hook fails.
        """
        return (await self._template_for(spec)).info

    def has_snapshot(self, key: str) -> bool:
        template = self._templates.get(key)
        return template is not None and template.client is not None

    async def _template_for(self, spec: EnvSpec) -> Template:
        template = self._templates.get(spec.key)
        if template is not None and template.client is not None:
            return template
        task = self._snapshotting.get(spec.key)
        if task is None:
            assert self._loop is not None
            task = self._loop.create_task(self._create_template(spec))
            self._snapshotting[spec.key] = task
            task.add_done_callback(lambda _: self._snapshotting.pop(spec.key, None))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and (current is None or not current.cancelling()):
                raise SandboxError(
                    "the version was discarded while its snapshot was made"
                ) from None
            raise

    async def _create_template(self, spec: EnvSpec) -> Template:
        env = await self._acquire_generic(spec.memory_mb, spec.key)
        env.provisioned = True  # never reaped or evicted as an idle environment
        try:
            reply = await env.start_init(
                spec, self._assign_meta(spec, env), self.settings.init_timeout_s
            )
            init_log = env.init_log
            if reply.kind == "ready" and env.lifecycle.alive:
                env.lifecycle.move(EnvState.IDLE)
                reply = await env.start_snapshot(self.settings.init_timeout_s)
        except BaseException:  # cancelled (the version was discarded meanwhile)
            env.kill()
            raise
        if reply.kind != "snapped" or reply.fd is None or not env.lifecycle.alive:
            if reply.fd is not None:
                os.close(reply.fd)
            env.kill()
            raise _snapshot_error(reply, self.settings.init_timeout_s, init_log)
        init_ms = (env.init_ms or 0.0) + float(reply.meta[0])
        assert self._loop is not None
        template = Template(spec, env, SnapshotInfo(init_ms, init_log + reply.log))
        template.last_used = self._clock.monotonic()
        template.client = ZygoteClient.attach(
            self._loop,
            socket.socket(fileno=reply.fd),
            lambda tag, pid, chan, log: self._on_restored(template, tag, pid, chan, log),
            lambda tag, error: self._on_restore_failed(template, tag, error),
            lambda pid, status, rss: self._on_restored_exit(template, pid, status, rss),
            lambda: self._on_template_lost(template),
        )
        old = self._templates.get(spec.key)
        if old is not None:
            self._drop_template(old)
        self._templates[spec.key] = template
        self._fork_standby(template)
        return template

    # -- restores ---------------------------------------------------------------------------------
    async def _restore(self, spec: EnvSpec) -> tuple[Env, SnapshotInfo | None]:
        """A new environment of ``spec``, forked from its template, and the template's
        ``SnapshotInfo`` when this call had to wait for it to be made (no snapshot yet, or
        it was reaped); raises ``SnapshotError`` when it cannot be made.

        The template's standby child is taken when there is one (and a new one forked in
        the background); otherwise a child is forked now."""
        missing = not self.has_snapshot(spec.key)
        template = await self._template_for(spec)
        template.last_used = self._clock.monotonic()
        self._make_room(spec.memory_mb, spec.key)
        env = template.standby
        if env is not None and env.lifecycle.alive:
            template.standby = None
            env.standby = False
            env.restore_started = time.perf_counter()
        else:
            self._reserved += 1
            try:
                env = await self._fork_restored(template)
            finally:
                self._reserved -= 1
        self._count_assigned(env, spec.memory_mb, spec.key)
        self._fork_standby(template)
        return env, template.info if missing else None

    def _fork_standby(self, template: Template) -> None:
        if template.standby is not None and not template.standby.lifecycle.alive:
            template.standby = None  # it died (killed, or evicted with its cgroup)
        if template.standby is not None or template.standby_task is not None or self._closed:
            return
        assert self._loop is not None

        async def fork() -> None:
            try:
                env = await self._fork_restored(template)
            except SandboxError:
                return
            finally:
                template.standby_task = None
            if template.client is None or template.standby is not None or self._closed:
                env.kill()
                return
            env.standby = True
            template.standby = env

        template.standby_task = self._loop.create_task(fork())

    async def _fork_restored(self, template: Template) -> Env:
        client = template.client
        if client is None or self._closed:
            raise SandboxError("the snapshot of this version is gone")
        spec = template.spec
        tag = next(self._ids)
        cg, peak, tmpdir = self._new_slot(tag)
        if cg is not None and self._cgtree is not None:
            with contextlib.suppress(OSError):
                self._cgtree.set_limit(cg, spec.memory_mb)
            self._cgtree.set_cpu(cg, spec.memory_mb, spec.cpu_limit)
        assert self._loop is not None
        pending = _Pending(self._loop.create_future(), cg, tmpdir, time.perf_counter())
        template.pending[tag] = pending
        try:
            client.request_fork(tag, cg, peak, tmpdir, self._extra_cgroups(cg))
            return await pending.future
        except BaseException:
            if template.pending.pop(tag, None) is not None:
                self._forget(cg, tmpdir)
            raise

    def _on_restored(self, template: Template, tag: int, pid: int, chan: int, log: int) -> None:
        pending = template.pending.pop(tag, None)
        if pending is None:  # nobody asked (or gave up): still adopt it, then kill it
            env = self._new_env(tag, pid, chan, log, None, None)
            template.children.add(pid)
            env.kill()
            return
        env = self._new_env(tag, pid, chan, log, pending.cgroup, pending.tmpdir)
        env.restore_started = pending.started
        template.children.add(pid)
        if pending.future.done() or self._closed:
            env.kill()
        else:
            pending.future.set_result(env)

    def _on_restore_failed(self, template: Template, tag: int, error: str) -> None:
        pending = template.pending.pop(tag, None)
        if pending is None:
            return
        self._forget(pending.cgroup, pending.tmpdir)
        if not pending.future.done():
            pending.future.set_exception(SandboxError(f"restore failed: {error}"))

    def _on_restored_exit(self, template: Template, pid: int, status: int, rss: int) -> None:
        template.children.discard(pid)
        self._on_exited(pid, status, rss)

    def _on_template_lost(self, template: Template) -> None:
        """The template died or its socket closed: its children die with it (pdeathsig)."""
        template.client = None
        template.standby = None
        if template.standby_task is not None:
            template.standby_task.cancel()
            template.standby_task = None
        if self._templates.get(template.spec.key) is template:
            del self._templates[template.spec.key]
        for pid in list(template.children):
            env = self._by_pid.pop(pid, None)
            if env is not None:
                env.abort()
                self._cleanup(env)
        template.children.clear()
        for pending in template.pending.values():
            self._forget(pending.cgroup, pending.tmpdir)
            if not pending.future.done():
                pending.future.set_exception(SandboxError("the snapshot's template exited"))
        template.pending.clear()
        template.env.kill()

    def _drop_template(self, template: Template) -> None:
        client = template.client
        if client is not None:
            client.close_now()
        self._on_template_lost(template)

    def _reap_templates(self) -> None:
        """Drop templates unused for ``idle_timeout_s`` whose restored environments are
        all gone (those die with their template): a snapshot is a process holding the
        version's initialised memory. The next cold start makes it again."""
        now = self._clock.monotonic()
        for template in list(self._templates.values()):
            if now - template.last_used < self.settings.idle_timeout_s:
                continue
            serving = [
                pid
                for pid in template.children
                if (env := self._by_pid.get(pid)) is not None
                and env is not template.standby
                and env.lifecycle.alive
            ]
            if not serving:
                self._drop_template(template)

    def _drop_templates(self, key_prefix: str) -> None:
        for key in [k for k in self._templates if k.startswith(key_prefix)]:
            self._drop_template(self._templates[key])
        for key, task in list(self._snapshotting.items()):
            if key.startswith(key_prefix):
                task.cancel()


def _snapshot_error(reply: Any, init_timeout_s: float, init_log: str) -> SnapshotError:
    log = init_log + reply.log if reply.log != init_log else reply.log
    if reply.kind == "init_error":
        message = results.init_error_reason(reply.body)
        return SnapshotError(str(reply.meta[0]), message, log, float(reply.meta[1]))
    if reply.kind == "timeout":
        return SnapshotError(
            "Runtime.InitTimeout", f"Init timed out after {init_timeout_s:.2f} seconds", log
        )
    return SnapshotError("Runtime.ExitError", "The environment exited during init", log)
