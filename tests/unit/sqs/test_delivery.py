"""Delivery rules with an injected clock: receipts, visibility, delay, retention, redrive."""

from __future__ import annotations

from lambdahost.core.clock import FakeClock
from lambdahost.sqs.delivery import (
    Candidate,
    Receipt,
    classify,
    decode_receipt,
    dedup_key,
    encode_receipt,
    plan_receive,
    sequence_number,
    system_attributes,
    visibility_deadline,
)


def test_receipt_round_trip_and_garbage() -> None:
    receipt = Receipt(3, 12345, "tok-en_1")
    assert decode_receipt(encode_receipt(receipt)) == receipt
    for bad in ("", "nope", "LH!!!", "LH" + "QUJD", "LH" + "x" * 2000):
        assert decode_receipt(bad) is None


def test_visibility_and_delay_follow_the_clock() -> None:
    clock = FakeClock()
    sent = clock.time()
    delayed_until = sent + 5
    assert classify(delayed_until, 0, clock.time()) == "delayed"
    clock.advance(5)
    assert classify(delayed_until, 0, clock.time()) == "visible"
    hidden_until = visibility_deadline(clock.time(), 30)
    assert classify(hidden_until, 1, clock.time()) == "in_flight"
    clock.advance(29.9)
    assert classify(hidden_until, 1, clock.time()) == "in_flight"
    clock.advance(0.1)
    assert classify(hidden_until, 1, clock.time()) == "visible"


def test_plan_delivers_in_order_up_to_the_limit() -> None:
    clock = FakeClock()
    now = clock.time()
    candidates = [Candidate(s, 0, now + 100) for s in (1, 2, 3, 4)]
    plan = plan_receive(candidates, now, 3, None)
    assert plan.deliver == [1, 2, 3] and plan.redrive == [] and plan.expire == []


def test_plan_drops_expired_messages() -> None:
    clock = FakeClock()
    retention_end = clock.time() + 60
    clock.advance(60)
    plan = plan_receive(
        [Candidate(1, 0, retention_end), Candidate(2, 0, retention_end + 1)], clock.time(), 10, None
    )
    assert plan.expire == [1] and plan.deliver == [2]


def test_plan_redrives_after_max_receive_count() -> None:
    now = FakeClock().time()
    candidates = [Candidate(1, 2, now + 99), Candidate(2, 1, now + 99), Candidate(3, 3, now + 99)]
    plan = plan_receive(candidates, now, 10, 2)
    assert plan.redrive == [1, 3] and plan.deliver == [2]
    # Without a redrive policy, nothing is moved however often it was received.
    assert plan_receive(candidates, now, 10, None).deliver == [1, 2, 3]


def test_system_attributes_in_milliseconds() -> None:
    values = system_attributes(
        sender_id="123456789012",
        sent_at=1700000000.1234,
        receive_count=2,
        first_received_at=1700000001.5,
        group_id="g",
        dedup_id="d",
        sequence_number="7",
        extra={"AWSTraceHeader": "Root=1"},
    )
    assert values == {
        "SenderId": "123456789012",
        "SentTimestamp": "1700000000123",
        "ApproximateReceiveCount": "2",
        "ApproximateFirstReceiveTimestamp": "1700000001500",
        "MessageGroupId": "g",
        "MessageDeduplicationId": "d",
        "SequenceNumber": "7",
        "AWSTraceHeader": "Root=1",
    }


def test_sequence_numbers_grow_and_dedup_scope() -> None:
    assert int(sequence_number(2)) > int(sequence_number(1))
    assert len(sequence_number(1)) == 20
    assert dedup_key("d", "g", per_group=False) == "d"
    assert dedup_key("d", "g", per_group=True) != dedup_key("d", "h", per_group=True)
