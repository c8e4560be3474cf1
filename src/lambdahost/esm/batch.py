"""Pure adapters between SQS messages and a Lambda invocation (no I/O).

``sqs_record`` builds one record of the SQS event exactly as Lambda sends it;
``item_failures`` reads a ReportBatchItemFailures response and decides which
messages stay in the queue:

- complete success: the response is empty or ``null``, or ``batchItemFailures``
  is missing, ``null`` or ``[]``;
- complete failure: the response is not valid JSON (or not a JSON object), or
  ``batchItemFailures`` is not a list, or an entry has no ``itemIdentifier`` key,
  or an ``itemIdentifier`` is null, empty, not a string or not a message id of
  the batch;
- otherwise exactly the listed messages failed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

FIFO_ATTRIBUTES = ("SequenceNumber", "MessageGroupId", "MessageDeduplicationId")
BASE_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
)
EXTRA_ATTRIBUTES = ("AWSTraceHeader", "DeadLetterQueueSourceArn")


def record_attributes(system: Mapping[str, str]) -> dict[str, str]:
    """The ``attributes`` of a record: the base four, FIFO fields and trace header when present."""
    out = {k: system[k] for k in BASE_ATTRIBUTES if k in system}
    out.update({k: system[k] for k in (*FIFO_ATTRIBUTES, *EXTRA_ATTRIBUTES) if k in system})
    return out


def record_message_attributes(attributes: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """Message attributes in the record's lower-camel form."""
    out: dict[str, Any] = {}
    for name, value in attributes.items():
        shaped: dict[str, Any] = {}
        if "StringValue" in value:
            shaped["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            shaped["binaryValue"] = value["BinaryValue"]
        shaped["stringListValues"] = []
        shaped["binaryListValues"] = []
        shaped["dataType"] = value["DataType"]
        out[name] = shaped
    return out


def sqs_record(
    *,
    message_id: str,
    receipt_handle: str,
    body: str,
    system: Mapping[str, str],
    message_attributes: Mapping[str, Mapping[str, str]],
    md5_of_body: str,
    queue_arn: str,
    region: str,
) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": receipt_handle,
        "body": body,
        "attributes": record_attributes(system),
        "messageAttributes": record_message_attributes(message_attributes),
        "md5OfBody": md5_of_body,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def event_payload(records: list[dict[str, Any]]) -> bytes:
    return json.dumps({"Records": records}).encode()


def item_failures(payload: bytes, message_ids: Iterable[str]) -> set[str] | None:
    """The message ids that failed, or None when the whole batch counts as failed."""
    known = set(message_ids)
    text = payload.strip()
    if not text:
        return set()
    try:
        response = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return None
    if response is None:
        return set()
    if not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    failed: set[str] = set()
    for entry in failures:
        if not isinstance(entry, dict) or "itemIdentifier" not in entry:
            return None
        identifier = entry["itemIdentifier"]
        if not isinstance(identifier, str) or not identifier or identifier not in known:
            return None
        failed.add(identifier)
    return failed


def payload_size(records: list[dict[str, Any]]) -> int:
    """Bytes of the event that would carry these records."""
    return len(event_payload(records))
