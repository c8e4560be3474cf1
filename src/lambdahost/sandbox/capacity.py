"""Host capacity (a mixin of ``EnvironmentManager``): environment count and memory budget.

Before a new environment is made, ``_make_room`` checks the host's limits and evicts the
least recently used idle environments to fit it, or raises ``CapacityError`` (the API
answers 429 ``ConcurrentInvocationLimitExceeded``). Two limits: ``max_environments``
assigned environments, and ``memory_budget_mb`` of memory the environments really use
(their memory cgroup's charge, or RSS), sampled when they go idle (``_measure``) and in
the periodic sweep; a new environment of a function is expected to use what its idle ones
were seen using (``policy.NEW_ENVIRONMENT_MB`` for a function not seen yet). The
decisions themselves are pure (``policy.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lambdahost.sandbox import policy
from lambdahost.sandbox.types import CapacityError

if TYPE_CHECKING:
    from lambdahost.core.clock import Clock
    from lambdahost.sandbox.env import Env
    from lambdahost.sandbox.types import SandboxSettings

_SAMPLE_INTERVAL_S = 1.0  # an environment's memory is sampled at most this often


class HostCapacityMixin:
    settings: SandboxSettings
    _clock: Clock
    _idle: dict[str, list[Env]]
    _live: dict[int, Env]
    _assigned: int
    _reserved: int
    _estimates: dict[str, int]

    def _count_assigned(self, env: Env, memory_mb: int, key: str = "") -> None:
        self._assigned += 1
        env.memory_mb = memory_mb
        env.usage_mb = self._estimate(memory_mb, key)  # until it is measured
        env.key = ""  # counted as assigned from here on (start_* sets the real key)

    def _estimate(self, memory_mb: int, key: str) -> int:
        """Memory a new environment of ``key`` is expected to use (never above its limit)."""
        guess = self._estimates.get(key, policy.NEW_ENVIRONMENT_MB)
        return min(guess, memory_mb) if memory_mb else guess

    def _measure_due(self, env: Env) -> bool:
        """Whether an environment that just went idle should be measured for the memory
        budget (at most once a second: a hot one is not measured on every invoke)."""
        if self.settings.memory_budget_mb is None or not env.key:
            return False
        return self._clock.monotonic() - env.usage_sampled >= _SAMPLE_INTERVAL_S

    def _measure(self, env: Env) -> None:
        """Sample what an idle environment really uses; remember it for its function."""
        if not env.key:
            return
        env.usage_sampled = self._clock.monotonic()
        usage = env.sample_usage()
        self._estimates[env.key] = max(usage, self._estimates.get(env.key, 0))

    def _make_room(self, memory_mb: int, key: str = "") -> None:
        """Evict least recently used idle environments until a new one of ``key`` fits the
        host's limits; raise ``CapacityError`` if it cannot fit.

        The memory budget counts what environments really use (their memory cgroup's
        charge, or their RSS), sampled when they go idle, not their MemorySize."""
        s = self.settings
        used = sum(e.usage_mb for e in self._live.values()) if s.memory_budget_mb else 0
        need = self._estimate(memory_mb, key)
        if s.memory_budget_mb is not None and used + need > s.memory_budget_mb:
            idle = [
                (policy.IdleEntry(e.env_id, k, e.last_used), e.usage_mb)
                for k, st in self._idle.items()
                for e in st
                if not e.provisioned
            ]
            victims = policy.memory_victims(idle, used, need, s.memory_budget_mb)
            if victims is None:
                raise CapacityError(
                    f"the host's memory budget of {s.memory_budget_mb} MB is in use"
                )
            for env_id in victims:
                self._live[env_id].kill()
        if self._assigned + self._reserved >= s.max_environments:
            entries = [
                policy.IdleEntry(e.env_id, k, e.last_used)
                for k, st in self._idle.items()
                for e in st
                if not e.provisioned
            ]
            victim = policy.eviction_victim(entries)
            if victim is None:
                raise CapacityError(f"all {s.max_environments} environments are busy")
            self._live[victim].kill()
