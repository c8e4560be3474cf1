"""The manager's handling of Runtime-API environments (a mixin of ``EnvironmentManager``).

Runtime-API environments come from the same pool of generic pre-forked environments
as the built-in Python runtime; ``ExecSession`` (``exec_env.py``) turns one into a
supervisor of the function's runtime. Here: routing invokes to warm environments,
cold starts, provisioned ones, and retiring environments through Lambda's shutdown
phase when extensions registered (otherwise they are simply killed).

Multi-concurrency (``EnvSpec.max_concurrency`` > 1, Lambda Managed Instances): an
environment serves up to that many invocations at once; such environments live in
``_shared`` (not the idle stacks), are never frozen, and are reaped once idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import TYPE_CHECKING, Any

from lambdahost.sandbox.exec_env import ExecSession
from lambdahost.sandbox.types import EnvSpec, EnvState, InvokeRequest, InvokeResult, Outcome

if TYPE_CHECKING:
    from lambdahost.core.clock import Clock
    from lambdahost.sandbox.env import Env
    from lambdahost.sandbox.types import SandboxSettings

_KEEP = (Outcome.SUCCESS, Outcome.FUNCTION_ERROR)


def write_hosts_file(work_dir: str) -> str | None:
    """``/etc/hosts`` for Runtime-API environments: the host's, plus sandbox.localdomain."""
    path = os.path.join(work_dir, "hosts")
    try:
        with open("/etc/hosts") as f:
            text = f.read()
    except OSError:
        text = "127.0.0.1\tlocalhost\n"
    try:
        with open(path, "w") as f:
            f.write(text.rstrip("\n") + "\n127.0.0.1\tsandbox.localdomain sandbox\n")
    except OSError:
        return None
    return path


class ExecPoolMixin:
    settings: SandboxSettings
    _clock: Clock
    _loop: asyncio.AbstractEventLoop | None
    _idle: dict[str, list[Env]]
    _live: dict[int, Env]
    _closed: bool
    _generic_failures: int
    _shared: dict[str, list[Env]]
    _retiring: set[asyncio.Task[None]]
    _hosts_file: str | None

    if TYPE_CHECKING:  # provided by the class that mixes this in

        async def _acquire_generic(self, memory_mb: int = 0, key: str = "") -> Env: ...

        def _measure(self, env: Env) -> None: ...

        def _measure_due(self, env: Env) -> bool: ...

        def _assign_meta(self, spec: EnvSpec, env: Env) -> dict[str, Any]: ...

    # -- invoke -------------------------------------------------------------------------------
    async def _invoke_exec(self, spec: EnvSpec, request: InvokeRequest) -> InvokeResult:
        env = self._warm_exec(spec)
        if env is not None:
            assert env.session is not None
            fut = env.session.invoke(request, cold=False)
        else:
            env = await self._acquire_generic(spec.memory_mb, spec.key)
            session = self._attach(env, spec)
            fut = session.invoke(request, cold=True)
            if spec.max_concurrency > 1:
                self._shared.setdefault(spec.key, []).append(env)
            try:
                await session.assign(self._assign_meta(spec, env))
            except OSError:
                env.kill()  # settles ``fut`` as a crash of this environment
        try:
            result = await asyncio.shield(fut)
        except asyncio.CancelledError:
            settled = env
            fut.add_done_callback(lambda f: self._after_exec(settled, f.result()))
            raise
        self._after_exec(env, result)
        return result

    def _warm_exec(self, spec: EnvSpec) -> Env | None:
        if spec.max_concurrency > 1:
            for env in self._shared.get(spec.key, ()):
                if (
                    env.lifecycle.alive
                    and not env.doomed
                    and not env.retiring
                    and env.session is not None
                    and env.session.busy < spec.max_concurrency
                ):
                    return env
            return None
        stack = self._idle.get(spec.key)
        if not stack:
            return None
        env = stack.pop()
        if not stack:
            del self._idle[spec.key]
        return env

    def _attach(self, env: Env, spec: EnvSpec) -> ExecSession:
        session = ExecSession(env, spec, self.settings.init_timeout_s, self._hosts_file)
        env.session = session
        env.max_log = self.settings.max_log_bytes
        return session

    def _after_exec(self, env: Env, result: InvokeResult) -> None:
        env.last_used = self._clock.monotonic()
        env.last_used_wall = self._clock.time()
        if result.outcome in _KEEP:
            env.invocations += 1
            self._generic_failures = 0
        session = env.session
        if session is None:
            return
        if (
            result.outcome in _KEEP
            and env.lifecycle.alive
            and not env.doomed
            and not self._closed
            and env.key
        ):
            session.when_quiet(lambda: self._exec_idle(env))
            return
        env.doomed = True
        if session.busy == 0:
            reason = {Outcome.TIMEOUT: "timeout", Outcome.CRASH: "failure"}.get(
                result.outcome, "spindown"
            )
            self._retire(env, reason)

    def _exec_idle(self, env: Env) -> None:
        session = env.session
        if session is None or not env.lifecycle.alive or env.retiring:
            return
        if env.doomed or self._closed:
            if session.busy == 0:
                self._retire(env, "spindown")
            return
        if session.busy == 0 and env.state is EnvState.INVOKING:
            env.lifecycle.move(EnvState.IDLE)
            if self._measure_due(env):
                self._measure(env)
        if env.spec is not None and env.spec.max_concurrency > 1:
            return  # stays in _shared; never frozen
        if env.state is not EnvState.IDLE or env.key is None:
            return
        stack = self._idle.setdefault(env.key, [])
        if env not in stack:
            stack.append(env)
        if self.settings.freeze_idle and self._loop is not None:
            self._loop.call_soon(env.freeze_if_idle)

    # -- provisioned ----------------------------------------------------------------------------
    async def _provision_exec(self, spec: EnvSpec, env: Env) -> str | None:
        session = self._attach(env, spec)
        ready = session.start_init()
        if spec.max_concurrency > 1:
            self._shared.setdefault(spec.key, []).append(env)
        try:
            await session.assign(self._assign_meta(spec, env))
        except OSError:
            env.kill()
        reason = await ready
        if reason is None and env.lifecycle.alive and not env.doomed and not self._closed:
            env.last_used = self._clock.monotonic()
            env.last_used_wall = self._clock.time()
            if spec.max_concurrency == 1:
                self._idle.setdefault(spec.key, []).append(env)
                if self.settings.freeze_idle:
                    env.freeze_if_idle()
            return None
        env.provisioned = False
        env.kill()
        return reason or "The environment exited during init"

    # -- retiring -------------------------------------------------------------------------------
    def _unpool(self, env: Env) -> None:
        key = env.key
        if not key:
            return
        for pools in (self._idle, self._shared):
            stack = pools.get(key)
            if stack is not None and env in stack:
                stack.remove(env)
                if not stack:
                    del pools[key]

    def _retire(self, env: Env, reason: str = "spindown") -> None:
        """Take ``env`` out of service: Lambda's shutdown phase if extensions registered."""
        session = env.session
        if (
            session is None
            or env.retiring
            or not env.lifecycle.alive
            or self._loop is None
            or not session.needs_shutdown_phase()
        ):
            env.kill()
            return
        env.retiring = True
        self._unpool(env)
        task = self._loop.create_task(session.shutdown(reason, self.settings.shutdown_grace_s))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _retire_all(self) -> None:
        """On close: give every environment with extensions its shutdown phase (bounded)."""
        for env in list(self._live.values()):
            if env.session is not None and env.session.needs_shutdown_phase():
                self._retire(env, "spindown")
        if self._retiring:
            with contextlib.suppress(Exception):
                await asyncio.wait(
                    set(self._retiring), timeout=self.settings.shutdown_grace_s + 0.5
                )
