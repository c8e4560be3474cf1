"""Pure manager decisions (lambdahost.sandbox.policy) driven by a fake clock."""

from __future__ import annotations

from lambdahost.core.clock import FakeClock
from lambdahost.sandbox import policy
from lambdahost.sandbox.policy import IdleEntry


def test_idle_reaping_with_fake_clock() -> None:
    clock = FakeClock()
    a = IdleEntry(1, "fn-a", clock.monotonic())
    clock.advance(100)
    b = IdleEntry(2, "fn-b", clock.monotonic())
    clock.advance(499)
    assert policy.expired([a, b], clock.monotonic(), 600) == []
    clock.advance(1)
    assert policy.expired([a, b], clock.monotonic(), 600) == [1]
    clock.advance(100)
    assert policy.expired([a, b], clock.monotonic(), 600) == [1, 2]


def test_nothing_idle_nothing_reaped() -> None:
    assert policy.expired([], 1e9, 1) == []


def test_eviction_picks_least_recently_used() -> None:
    entries = [IdleEntry(1, "a", 30.0), IdleEntry(2, "b", 10.0), IdleEntry(3, "a", 20.0)]
    assert policy.eviction_victim(entries) == 2
    assert policy.eviction_victim([]) is None


def test_forks_needed() -> None:
    assert policy.forks_needed(ready=0, in_flight=0, waiters=0, pool_size=3) == 3
    assert policy.forks_needed(ready=2, in_flight=1, waiters=0, pool_size=3) == 0
    assert policy.forks_needed(ready=0, in_flight=1, waiters=4, pool_size=3) == 6
    assert policy.forks_needed(ready=5, in_flight=0, waiters=0, pool_size=3) == 0
    assert policy.forks_needed(ready=0, in_flight=0, waiters=2, pool_size=0) == 2


def test_sweep_interval() -> None:
    assert policy.sweep_interval(600, None) == 5.0
    assert policy.sweep_interval(1.0, None) == 0.25
    assert policy.sweep_interval(0.01, None) == 0.05
    assert policy.sweep_interval(600, 0.5) == 0.5


def test_memory_victims_evicts_least_recently_used_until_it_fits() -> None:
    from lambdahost.sandbox.policy import IdleEntry, memory_victims

    idle = [
        (IdleEntry(1, "a", 10.0), 256),
        (IdleEntry(2, "b", 5.0), 256),
        (IdleEntry(3, "c", 20.0), 512),
    ]
    assert memory_victims(idle, used_mb=512, need_mb=256, budget_mb=1024) == []
    assert memory_victims(idle, used_mb=1024, need_mb=256, budget_mb=1024) == [2]
    assert memory_victims(idle, used_mb=1024, need_mb=512, budget_mb=1024) == [2, 1]
    assert memory_victims(idle, used_mb=1024, need_mb=2048, budget_mb=1024) is None
