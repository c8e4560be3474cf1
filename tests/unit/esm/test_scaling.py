"""Poller scaling without MaximumConcurrency (lambdahost.esm.poller.scale), with a fake clock."""

from __future__ import annotations

from lambdahost.core.clock import FakeClock
from lambdahost.esm.poller import DEFAULT_CONCURRENCY, scale


def test_grows_one_slot_per_second_while_batches_are_full() -> None:
    clock = FakeClock()
    capacity, changed = DEFAULT_CONCURRENCY, clock.monotonic()
    clock.advance(1)
    capacity, changed = scale(capacity, 1000, True, False, clock.monotonic(), changed)
    assert capacity == DEFAULT_CONCURRENCY + 1
    clock.advance(0.5)
    assert scale(capacity, 1000, True, False, clock.monotonic(), changed)[0] == capacity
    clock.advance(0.5)
    capacity, changed = scale(capacity, 1000, True, False, clock.monotonic(), changed)
    assert capacity == DEFAULT_CONCURRENCY + 2
    clock.advance(5)
    assert scale(capacity, 1000, False, False, clock.monotonic(), changed)[0] == capacity


def test_resets_when_the_queue_runs_dry_and_respects_the_cap() -> None:
    assert scale(40, 1000, False, True, 10.0, 0.0) == (DEFAULT_CONCURRENCY, 10.0)
    assert scale(2, 2, True, False, 10.0, 0.0) == (2, 0.0)
    assert scale(3, 3, False, True, 10.0, 0.0) == (3, 0.0)
