"""SendMessage rules with an injected clock (lambdahost.sqs.sending)."""

from __future__ import annotations

import hashlib

import pytest

from lambdahost.core.clock import FakeClock
from lambdahost.errors import ApiError
from lambdahost.sqs.digest import md5_of_body
from lambdahost.sqs.model import effective_attributes
from lambdahost.sqs.sending import SendEntry, prepare

STANDARD = effective_attributes({"DelaySeconds": "5", "MessageRetentionPeriod": "60"}, False)
FIFO = effective_attributes({"ContentBasedDeduplication": "true"}, True)


def test_standard_message_times_come_from_the_clock() -> None:
    clock = FakeClock()
    message, result = prepare(False, STANDARD, SendEntry("hi"), "123456789012", clock.time())
    assert message.sent_at == clock.time()
    assert message.visible_at == clock.time() + 5  # the queue's DelaySeconds
    assert message.expires_at == clock.time() + 60  # the queue's retention period
    assert result.md5_of_body == md5_of_body("hi") and result.md5_of_attributes is None
    override, _ = prepare(False, STANDARD, SendEntry("hi", delay_seconds=0), "s", clock.time())
    assert override.visible_at == clock.time()
    assert message.dedup_key is None and message.group_id is None


def test_fifo_content_based_deduplication() -> None:
    now = FakeClock().time()
    message, _ = prepare(True, FIFO, SendEntry("body", group_id="g"), "s", now)
    assert message.dedup_id == hashlib.sha256(b"body").hexdigest()
    assert message.dedup_key == message.dedup_id
    assert message.visible_at == now
    explicit, _ = prepare(True, FIFO, SendEntry("body", group_id="g", dedup_id="d"), "s", now)
    assert explicit.dedup_id == "d"


def test_fifo_per_group_dedup_scope() -> None:
    attributes = effective_attributes(
        {"ContentBasedDeduplication": "true", "DeduplicationScope": "messageGroup"}, True
    )
    a, _ = prepare(True, attributes, SendEntry("x", group_id="g1"), "s", 0.0)
    b, _ = prepare(True, attributes, SendEntry("x", group_id="g2"), "s", 0.0)
    assert a.dedup_id == b.dedup_id and a.dedup_key != b.dedup_key


@pytest.mark.parametrize(
    ("fifo", "entry", "code"),
    [
        (False, SendEntry(""), "MissingParameter"),
        (False, SendEntry(None), "MissingParameter"),
        (False, SendEntry("x", delay_seconds=901), "InvalidParameterValue"),
        (False, SendEntry("x", dedup_id="d"), "InvalidParameterValue"),
        (False, SendEntry("\x01"), "InvalidMessageContents"),
        (False, SendEntry("x" * 1_048_577), "InvalidParameterValue"),
        (True, SendEntry("x"), "MissingParameter"),
        (True, SendEntry("x", group_id="g", delay_seconds=3), "InvalidParameterValue"),
        (True, SendEntry("x", group_id="bad group\u00e9"), "InvalidParameterValue"),
    ],
)
def test_refused_entries(fifo: bool, entry: SendEntry, code: str) -> None:
    with pytest.raises(ApiError) as caught:
        prepare(fifo, FIFO if fifo else STANDARD, entry, "s", 0.0)
    assert caught.value.code == code


def test_fifo_without_any_deduplication_id() -> None:
    attributes = effective_attributes({}, True)
    with pytest.raises(ApiError) as caught:
        prepare(True, attributes, SendEntry("x", group_id="g"), "s", 0.0)
    assert "ContentBasedDeduplication" in caught.value.message
