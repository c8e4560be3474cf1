"""Pure decisions of the manager: which idle environments to reap or evict, how many
generic environments to fork. Inputs (including ``now``) in, decisions out; the
manager (``manager.py``) performs them. Times are monotonic seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Memory budget: what a new environment of a function never seen idle is expected to use.
NEW_ENVIRONMENT_MB = 16


@dataclass(frozen=True)
class IdleEntry:
    env_id: int
    key: str
    last_used: float


def expired(entries: Iterable[IdleEntry], now: float, idle_timeout_s: float) -> list[int]:
    """Ids of idle environments unused for at least ``idle_timeout_s`` (scale to zero)."""
    return [e.env_id for e in entries if now - e.last_used >= idle_timeout_s]


def eviction_victim(entries: Iterable[IdleEntry]) -> int | None:
    """The least recently used idle environment, to make room for a new one."""
    best: IdleEntry | None = None
    for e in entries:
        if best is None or e.last_used < best.last_used:
            best = e
    return None if best is None else best.env_id


def memory_victims(
    entries: Iterable[tuple[IdleEntry, int]], used_mb: int, need_mb: int, budget_mb: int
) -> list[int] | None:
    """Least recently used idle environments to evict so that ``need_mb`` more fits in
    ``budget_mb``; ``[]`` if it fits already, None if evicting every idle one is not enough.
    ``entries`` pairs each idle environment with the memory it uses."""
    if used_mb + need_mb <= budget_mb:
        return []
    victims: list[int] = []
    for entry, size in sorted(entries, key=lambda pair: pair[0].last_used):
        victims.append(entry.env_id)
        used_mb -= size
        if used_mb + need_mb <= budget_mb:
            return victims
    return None


def forks_needed(ready: int, in_flight: int, waiters: int, pool_size: int) -> int:
    """How many generic environments to request so that ``pool_size`` stay ready
    after serving ``waiters`` (invokes waiting for a generic environment)."""
    return max(0, pool_size + waiters - ready - in_flight)


def sweep_interval(idle_timeout_s: float, configured: float | None) -> float:
    if configured is not None:
        return max(0.01, configured)
    return max(0.05, min(idle_timeout_s / 4.0, 5.0))
