from __future__ import annotations

from lambdahost.core.concurrency import (
    ACCOUNT_LIMIT_REASON,
    RESERVED_LIMIT_REASON,
    ConcurrencyLedger,
    check_reservation,
)


def test_reserved_limit_throttles_and_counts() -> None:
    ledger = ConcurrencyLedger(account_limit=1000, reserved={"f": 2})
    assert ledger.try_acquire("f") is None
    assert ledger.try_acquire("f") is None
    assert ledger.try_acquire("f") == RESERVED_LIMIT_REASON
    assert ledger.counters["f"].throttles == 1 and ledger.counters["f"].peak == 2
    ledger.release("f")
    assert ledger.try_acquire("f") is None


def test_zero_reserved_throttles_everything() -> None:
    ledger = ConcurrencyLedger(reserved={"f": 0})
    assert ledger.try_acquire("f") == RESERVED_LIMIT_REASON


def test_unreserved_pool_is_shared() -> None:
    ledger = ConcurrencyLedger(account_limit=110, reserved={"big": 8})
    for i in range(102):
        assert ledger.try_acquire(f"fn{i % 3}") is None
    assert ledger.try_acquire("fn0") == ACCOUNT_LIMIT_REASON
    assert ledger.try_acquire("big") is None, "reserved capacity is guaranteed"


def test_reservation_keeps_100_unreserved() -> None:
    assert check_reservation(1000, {"a": 500}, "b", 400) is None
    message = check_reservation(1000, {"a": 500}, "b", 401)
    assert message is not None and "below its minimum value of [100]" in message
    assert check_reservation(1000, {"a": 900}, "a", 900) is None


def test_changing_a_reservation_moves_in_flight_counts() -> None:
    ledger = ConcurrencyLedger(account_limit=1000)
    assert ledger.try_acquire("f") is None
    ledger.set_reserved("f", 5)
    assert ledger.unreserved_in_flight == 0
    ledger.release("f")
    assert ledger.counters["f"].in_flight == 0
    ledger.set_reserved("f", None)
    assert ledger.try_acquire("f") is None and ledger.unreserved_in_flight == 1
