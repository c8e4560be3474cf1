"""Provisioned concurrency (a mixin of ``EnvironmentManager``): environments of a key
initialised ahead of demand, kept out of idle reaping and replaced when they die.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from lambdahost.sandbox import results
from lambdahost.sandbox.types import EnvSpec, EnvState, SandboxError

if TYPE_CHECKING:
    from lambdahost.core.clock import Clock
    from lambdahost.sandbox.env import Env
    from lambdahost.sandbox.types import SandboxSettings


class ProvisioningMixin:
    settings: SandboxSettings
    _clock: Clock
    _loop: asyncio.AbstractEventLoop | None
    _idle: dict[str, list[Env]]
    _live: dict[int, Env]
    _closed: bool
    _targets: dict[str, tuple[EnvSpec, int]]
    _refilling: set[str]

    if TYPE_CHECKING:  # provided by the class that mixes this in

        async def _acquire_generic(self, memory_mb: int = 0, key: str = "") -> Env: ...

        def _assign_meta(self, spec: EnvSpec, env: Env) -> dict[str, Any]: ...

        async def _provision_exec(self, spec: EnvSpec, env: Env) -> str | None: ...

    # -- provisioned concurrency ------------------------------------------------------------------
    async def provision(self, spec: EnvSpec, count: int) -> str | None:
        """Keep ``count`` environments of ``spec.key`` initialised ahead of demand.

        Returns None once they are all ready, or the reason one could not be
        initialised (an init error's message, a timeout). Provisioned environments
        serve invokes first (they sit in the key's idle stack), are never reaped
        as idle, and are replaced when they die.
        """
        self._targets[spec.key] = (spec, count)
        return await self._fill(spec.key)

    def unprovision(self, key: str) -> None:
        """Stop keeping environments of ``key``; they become ordinary warm ones."""
        self._targets.pop(key, None)
        for env in self._live.values():
            if env.key == key:
                env.provisioned = False

    def provisioned(self, key: str) -> tuple[int, int]:
        """(allocated, available): initialised provisioned envs, and those idle now."""
        envs = [e for e in self._live.values() if e.key == key and e.provisioned]
        ready = [e for e in envs if e.state in (EnvState.IDLE, EnvState.INVOKING)]
        return len(ready), sum(1 for e in ready if e.state is EnvState.IDLE)

    async def _fill(self, key: str) -> str | None:
        target = self._targets.get(key)
        if target is None or self._closed:
            return None
        spec, count = target
        have = sum(1 for e in self._live.values() if e.key == key and e.provisioned)
        errors = await asyncio.gather(
            *(self._provision_one(spec) for _ in range(max(0, count - have))),
            return_exceptions=True,
        )
        for error in errors:
            if error is not None:
                return str(error)
        return None

    async def _provision_one(self, spec: EnvSpec) -> str | None:
        env = await self._acquire_generic(spec.memory_mb, spec.key)
        env.provisioned = True
        if spec.launch is not None:
            return await self._provision_exec(spec, env)
        reply = await env.start_init(
            spec, self._assign_meta(spec, env), self.settings.init_timeout_s
        )
        if reply.kind == "ready" and env.lifecycle.alive and not env.doomed and not self._closed:
            env.lifecycle.move(EnvState.IDLE)
            env.last_used = self._clock.monotonic()
            env.last_used_wall = self._clock.time()
            if self.settings.freeze_idle:
                env.freeze_if_idle()
            self._idle.setdefault(spec.key, []).append(env)
            return None
        env.provisioned = False
        env.kill()
        if reply.kind == "init_error":
            return results.init_error_reason(reply.body)
        if reply.kind == "timeout":
            return f"Init timed out after {self.settings.init_timeout_s:.2f} seconds"
        return "The environment exited during init"

    def _replace_provisioned(self, key: str) -> None:
        if key not in self._targets or key in self._refilling or self._loop is None:
            return
        self._refilling.add(key)

        async def refill() -> None:
            try:
                await asyncio.sleep(0.05)
                await self._fill(key)
            except SandboxError:
                pass
            finally:
                self._refilling.discard(key)

        self._loop.create_task(refill())
