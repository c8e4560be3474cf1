"""The Runtime API's pure bookkeeping: pairing events with /next polls, settling answers."""

from __future__ import annotations

import pytest

from lambdahost.errors import InvalidTransition
from lambdahost.sandbox.rapi.state import InvocationTable, PendingEvent, RuntimePhase, Settle


def ev(rid: str) -> PendingEvent:
    return PendingEvent(rid, b"{}", (("Lambda-Runtime-Aws-Request-Id", rid),), 3000)


def test_next_first_then_event_pairs_on_push() -> None:
    t: InvocationTable[str] = InvocationTable()
    assert t.phase is RuntimePhase.STARTING
    assert t.next("w1") == []
    assert t.phase is RuntimePhase.READY and t.ready
    assert t.push(ev("a")) == [("w1", ev("a"))]
    assert list(t.inflight) == ["a"] and t.busy == 1


def test_event_first_then_next_pairs_on_next() -> None:
    t: InvocationTable[str] = InvocationTable()
    assert t.push(ev("a")) == []
    assert t.busy == 1
    assert t.next("w1") == [("w1", ev("a"))]


def test_single_concurrency_holds_second_next_until_settled() -> None:
    t: InvocationTable[str] = InvocationTable()
    t.next("w1")
    t.push(ev("a"))
    t.push(ev("b"))
    assert t.next("w2") == []  # "a" is still in flight
    outcome, pairs = t.settle("a")
    assert outcome is Settle.ACCEPTED and pairs == [("w2", ev("b"))]


def test_multi_concurrency_delivers_to_every_waiting_worker() -> None:
    t: InvocationTable[str] = InvocationTable(max_concurrency=3)
    for w in ("w1", "w2", "w3"):
        t.next(w)
    pairs = [p for rid in "abcd" for p in t.push(ev(rid))]
    assert [(w, e.request_id) for w, e in pairs] == [("w1", "a"), ("w2", "b"), ("w3", "c")]
    assert [e.request_id for e in t.queue] == ["d"]
    t.settle("b")
    assert t.next("w2") == [("w2", ev("d"))]


def test_settle_unknown_and_already_answered() -> None:
    t: InvocationTable[str] = InvocationTable()
    t.next("w")
    t.push(ev("a"))
    assert t.settle("nope") == (Settle.UNKNOWN, [])
    assert t.settle("a")[0] is Settle.ACCEPTED
    assert t.settle("a") == (Settle.ALREADY_ANSWERED, [])


def test_withdraw_and_requeue() -> None:
    t: InvocationTable[str] = InvocationTable()
    t.push(ev("a"))
    t.withdraw("a")
    assert t.busy == 0 and t.settle("a")[0] is Settle.ALREADY_ANSWERED
    t.next("w1")
    t.push(ev("b"))
    t.requeue(ev("b"))  # w1's connection was gone
    assert [e.request_id for e in t.queue] == ["b"] and not t.inflight
    assert t.next("w2") == [("w2", ev("b"))]


def test_dropped_waiter_gets_nothing() -> None:
    t: InvocationTable[str] = InvocationTable()
    t.next("w1")
    t.drop_waiter("w1")
    t.drop_waiter("unknown")
    assert t.push(ev("a")) == []


def test_init_error_first_accepted_then_refused() -> None:
    t: InvocationTable[str] = InvocationTable(max_concurrency=2)
    assert t.init_error() is True
    assert t.phase is RuntimePhase.INIT_FAILED
    assert t.init_error() is False


def test_phase_transitions_are_guarded() -> None:
    t: InvocationTable[str] = InvocationTable()
    t.init_error()
    with pytest.raises(InvalidTransition):
        t.move(RuntimePhase.READY)
    with pytest.raises(ValueError):
        InvocationTable(max_concurrency=0)


def test_remembers_a_bounded_number_of_answers() -> None:
    t: InvocationTable[str] = InvocationTable(remember=2)
    for rid in "abc":
        t.next("w")
        t.push(ev(rid))
        t.settle(rid)
    assert t.settle("a")[0] is Settle.UNKNOWN
    assert t.settle("c")[0] is Settle.ALREADY_ANSWERED
