"""Pure delivery rules: receipt handles, what a receive delivers, redrives or expires.

A message is *visible* when ``visible_at <= now``; otherwise it is *in flight*
(received at least once) or *delayed* (never received). Receiving sets
``visible_at = now + visibility timeout`` and a fresh receipt token; a receipt
handle names (queue, message, token), so a handle from an earlier receive no
longer matches once the message was received again. Time is always passed in
(``now``, epoch seconds from the injected clock), so these rules are tested
without sleeping.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Receipt:
    queue_id: int
    seq: int
    token: str


def new_token() -> str:
    return secrets.token_urlsafe(12)


def encode_receipt(receipt: Receipt) -> str:
    raw = f"{receipt.queue_id}:{receipt.seq}:{receipt.token}".encode()
    return "LH" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_receipt(handle: str) -> Receipt | None:
    """The receipt a handle names, or None if it is not one of ours."""
    if not isinstance(handle, str) or not handle.startswith("LH") or len(handle) > 1024:
        return None
    text = handle[2:]
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        queue_id, seq, token = raw.split(":", 2)
        return Receipt(int(queue_id), int(seq), token)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


@dataclass(frozen=True)
class Candidate:
    """A visible message as the receive query sees it."""

    seq: int
    receive_count: int
    expires_at: float
    group_id: str | None = None


@dataclass(frozen=True)
class ReceivePlan:
    deliver: list[int] = field(default_factory=list)
    redrive: list[int] = field(default_factory=list)
    expire: list[int] = field(default_factory=list)


def plan_receive(
    candidates: Iterable[Candidate], now: float, limit: int, max_receive_count: int | None
) -> ReceivePlan:
    """Decide, in queue order, which candidates are delivered, moved to the DLQ or dropped.

    Expired messages (past the retention period) are dropped. With a redrive
    policy, a message already received ``max_receive_count`` times is moved to
    the dead-letter queue instead of being received again. At most ``limit``
    messages are delivered; candidates after that are left alone.
    """
    plan = ReceivePlan()
    for candidate in candidates:
        if candidate.expires_at <= now:
            plan.expire.append(candidate.seq)
        elif max_receive_count is not None and candidate.receive_count >= max_receive_count:
            plan.redrive.append(candidate.seq)
        elif len(plan.deliver) < limit:
            plan.deliver.append(candidate.seq)
        else:
            break
    return plan


def visibility_deadline(now: float, timeout_s: float) -> float:
    return now + timeout_s


def classify(visible_at: float, receive_count: int, now: float) -> str:
    """``visible``, ``in_flight`` or ``delayed`` (the three GetQueueAttributes counts)."""
    if visible_at <= now:
        return "visible"
    return "in_flight" if receive_count > 0 else "delayed"


def system_attributes(
    *,
    sender_id: str,
    sent_at: float,
    receive_count: int,
    first_received_at: float | None,
    group_id: str | None,
    dedup_id: str | None,
    sequence_number: str | None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """All message system attributes of a received message, as SQS shows them (strings, ms)."""
    values = {
        "SenderId": sender_id,
        "SentTimestamp": str(int(sent_at * 1000)),
        "ApproximateReceiveCount": str(receive_count),
        "ApproximateFirstReceiveTimestamp": str(int((first_received_at or sent_at) * 1000)),
    }
    if group_id is not None:
        values["MessageGroupId"] = group_id
    if dedup_id is not None:
        values["MessageDeduplicationId"] = dedup_id
    if sequence_number is not None:
        values["SequenceNumber"] = sequence_number
    values.update(extra or {})
    return values


def sequence_number(counter: int) -> str:
    """A FIFO SequenceNumber: large, increasing, 20 digits like AWS's."""
    return str(18_000_000_000_000_000_000 + counter * 65_536)


def dedup_key(dedup_id: str, group_id: str | None, per_group: bool) -> str:
    return f"{group_id}\x1f{dedup_id}" if per_group and group_id is not None else dedup_id
