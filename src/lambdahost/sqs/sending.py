"""Pure SendMessage rules: validate an entry and build the message to store (no I/O).

Covers the body, message and system attributes, the size limit, DelaySeconds,
and FIFO rules (MessageGroupId required, deduplication id explicit or from the
body's SHA-256 when ContentBasedDeduplication is on, deduplication scope).
``now`` comes from the caller's clock.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambdahost.sqs import errors, model
from lambdahost.sqs.delivery import dedup_key
from lambdahost.sqs.digest import md5_of_attributes, md5_of_body
from lambdahost.sqs.repo import NewMessage


@dataclass(frozen=True)
class SendEntry:
    body: Any
    message_attributes: Any = None
    system_attributes: Any = None
    delay_seconds: int | None = None
    group_id: Any = None
    dedup_id: Any = None


@dataclass(frozen=True)
class SendResult:
    message_id: str
    md5_of_body: str
    md5_of_attributes: str | None
    md5_of_system_attributes: str | None
    sequence_number: str | None


def prepare(
    fifo: bool, attributes: Mapping[str, str], entry: SendEntry, sender: str, now: float
) -> tuple[NewMessage, SendResult]:
    """Validate one message for a queue with ``attributes``; the row to store and the reply.

    Raises ``ApiError`` with SQS's wording for anything SendMessage would refuse.
    """
    body = entry.body
    if not isinstance(body, str) or body == "":
        raise errors.missing_parameter("MessageBody")
    model.check_body(body)
    user = model.validate_message_attributes(entry.message_attributes)
    system = model.validate_system_attributes(entry.system_attributes)
    limit = int(attributes["MaximumMessageSize"])
    if model.message_size(body, user) > limit:
        raise errors.message_too_long(limit)
    delay = entry.delay_seconds
    if delay is not None and not 0 <= delay <= 900:
        raise errors.invalid_value("DelaySeconds", delay, "DelaySeconds must be >= 0 and <= 900.")
    group, dedup, key = entry.group_id, entry.dedup_id, None
    if group is not None and (not isinstance(group, str) or not model.DEDUP_ID_RE.fullmatch(group)):
        raise errors.invalid_value("MessageGroupId", group, "MessageGroupId is invalid.")
    if fifo:
        if delay:
            raise errors.not_for_queue_type("DelaySeconds", delay)
        if group is None:
            raise errors.missing_parameter("MessageGroupId")
        if dedup is None:
            if attributes.get("ContentBasedDeduplication") != "true":
                raise errors.invalid_parameter(
                    "The queue should either have ContentBasedDeduplication enabled or "
                    "MessageDeduplicationId provided explicitly"
                )
            dedup = hashlib.sha256(body.encode()).hexdigest()
        elif not isinstance(dedup, str) or not model.DEDUP_ID_RE.fullmatch(dedup):
            raise errors.invalid_value(
                "MessageDeduplicationId", dedup, "MessageDeduplicationId is invalid."
            )
        key = dedup_key(dedup, group, attributes.get("DeduplicationScope") == "messageGroup")
        delay = 0
    elif dedup is not None:
        raise errors.not_for_queue_type("MessageDeduplicationId", dedup)
    if delay is None:
        delay = int(attributes["DelaySeconds"])
    retention = int(attributes["MessageRetentionPeriod"])
    message_id = str(uuid.uuid4())
    md5_body = md5_of_body(body)
    system_values = {k: v["StringValue"] for k, v in system.items()}
    message = NewMessage(
        message_id,
        body,
        md5_body,
        user,
        system_values,
        sender,
        now,
        now + delay,
        now + retention,
        group,
        dedup if fifo else None,
        key,
    )
    result = SendResult(
        message_id, md5_body, md5_of_attributes(user), md5_of_attributes(system), None
    )
    return message, result
