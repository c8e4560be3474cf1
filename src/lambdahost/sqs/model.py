"""Pure SQS rules: queue names, URLs and ARNs, queue attributes, message validation.

Everything here is data in, data (or an ``ApiError`` with AWS's wording) out;
no store, no clock. Queue attributes are kept as AWS shows them: strings.
Stored attributes hold only what was set; ``effective_attributes`` adds the
defaults. Limits follow the current SQS documentation (a message, and a
batch, may be up to 1 MiB).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from lambdahost.errors import ApiError
from lambdahost.sqs import errors

NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,80}")
FIFO_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,75}\.fifo")
ARN_RE = re.compile(r"arn:aws[a-zA-Z-]*:sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_.-]{1,80})")
BATCH_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,80}")
ATTRIBUTE_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,256}")
DEDUP_ID_RE = re.compile(r"[!-~]{1,128}")
# Allowed: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF
_INVALID_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

MAX_MESSAGE_BYTES = 1_048_576
MAX_MESSAGE_ATTRIBUTES = 10
DEDUP_WINDOW_S = 300.0
MAX_VISIBILITY_S = 43_200
PURGE_INTERVAL_S = 60.0

INT_RANGES: dict[str, tuple[int, int]] = {
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, MAX_MESSAGE_BYTES),
    "MessageRetentionPeriod": (60, 1_209_600),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "VisibilityTimeout": (0, MAX_VISIBILITY_S),
    "KmsDataKeyReusePeriodSeconds": (60, 86_400),
}
DEFAULTS: dict[str, str] = {
    "DelaySeconds": "0",
    "MaximumMessageSize": str(MAX_MESSAGE_BYTES),
    "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0",
    "VisibilityTimeout": "30",
    "SqsManagedSseEnabled": "false",
}
FIFO_DEFAULTS: dict[str, str] = {
    "FifoQueue": "true",
    "ContentBasedDeduplication": "false",
    "DeduplicationScope": "queue",
    "FifoThroughputLimit": "perQueue",
}
FIFO_ONLY = frozenset({"ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"})
BOOLEANS = frozenset({"ContentBasedDeduplication", "SqsManagedSseEnabled", "FifoQueue"})
FREE_TEXT = frozenset({"Policy", "RedriveAllowPolicy", "KmsMasterKeyId"})
ENUMS: dict[str, frozenset[str]] = {
    "DeduplicationScope": frozenset({"messageGroup", "queue"}),
    "FifoThroughputLimit": frozenset({"perQueue", "perMessageGroupId"}),
}
SETTABLE = frozenset(INT_RANGES) | BOOLEANS | FREE_TEXT | FIFO_ONLY | {"RedrivePolicy"}
COMPUTED = frozenset(
    {
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
        "CreatedTimestamp",
        "LastModifiedTimestamp",
        "QueueArn",
    }
)
READABLE = SETTABLE | COMPUTED | {"All"}
SYSTEM_ATTRIBUTES = (
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)


# --- names, URLs, ARNs -------------------------------------------------------


def queue_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{account}:{name}"


def queue_url(endpoint: str, account: str, name: str) -> str:
    return f"{endpoint.rstrip('/')}/{account}/{name}"


def name_from_url(url: str, account: str) -> str | None:
    """The queue name in a queue URL of ``account``; None if it names no queue of ours."""
    path = urlsplit(url).path if "://" in url else url
    parts = [p for p in path.split("/") if p]
    if len(parts) < 2 or parts[-2] != account:
        return None
    return parts[-1]


def parse_arn(arn: str) -> tuple[str, str, str] | None:
    """(region, account, name) of a queue ARN, or None."""
    found = ARN_RE.fullmatch(arn)
    return (found.group(1), found.group(2), found.group(3)) if found else None


def validate_queue_name(name: str, fifo_attribute: str | None) -> bool:
    """Check a CreateQueue name against its FifoQueue attribute; return whether it is FIFO."""
    wants_fifo = (fifo_attribute or "").lower() == "true"
    if wants_fifo or name.endswith(".fifo"):
        if not FIFO_NAME_RE.fullmatch(name) or (fifo_attribute is not None and not wants_fifo):
            raise errors.invalid_parameter(
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, "
                "or underscores, must end with .fifo suffix and be 1 to 80 in length."
            )
        return True
    if not NAME_RE.fullmatch(name):
        raise errors.invalid_parameter(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        )
    return False


# --- queue attributes ----------------------------------------------------------


@dataclass(frozen=True)
class RedrivePolicy:
    target_arn: str
    max_receive_count: int


def parse_redrive_policy(text: str) -> RedrivePolicy:
    """Validate a RedrivePolicy document (the target's existence is checked by the caller)."""

    def bad(reason: str) -> ApiError:
        return errors.invalid_value("RedrivePolicy", text, reason)

    try:
        doc = json.loads(text)
    except ValueError:
        raise bad("Redrive policy is not a valid JSON map.") from None
    if not isinstance(doc, dict):
        raise bad("Redrive policy is not a valid JSON map.")
    target = doc.get("deadLetterTargetArn")
    count = doc.get("maxReceiveCount")
    if not isinstance(target, str) or count is None:
        raise bad("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
    try:
        number = int(count)
    except (TypeError, ValueError):
        raise bad("Invalid value for maxReceiveCount: " + str(count) + ".") from None
    if not 1 <= number <= 1000:
        raise bad(
            f"Invalid value for maxReceiveCount: {number}, valid values are from 1 to 1000 both inclusive."
        )
    if parse_arn(target) is None:
        raise bad("Dead letter target does not exist.")
    return RedrivePolicy(target, number)


def canonical_redrive(policy: RedrivePolicy) -> str:
    return json.dumps(
        {"deadLetterTargetArn": policy.target_arn, "maxReceiveCount": policy.max_receive_count},
        separators=(",", ":"),
    )


def normalize_attributes(given: Mapping[str, Any], fifo: bool, *, creating: bool) -> dict[str, str]:
    """Validate settable attributes and return them in canonical string form.

    ``RedrivePolicy: ""`` (SetQueueAttributes) means "remove" and is kept as "".
    """
    out: dict[str, str] = {}
    for name, raw in given.items():
        if name not in SETTABLE or (name == "FifoQueue" and not creating):
            raise errors.invalid_attribute_name(name)
        if name in FIFO_ONLY and not fifo:
            raise errors.invalid_attribute_name(name)
        value = raw if isinstance(raw, str) else str(raw)
        if name in INT_RANGES:
            low, high = INT_RANGES[name]
            try:
                number = int(value)
            except ValueError:
                raise errors.invalid_attribute_value(name) from None
            if not low <= number <= high:
                raise errors.invalid_attribute_value(name)
            out[name] = str(number)
        elif name in BOOLEANS:
            if value.lower() not in ("true", "false"):
                raise errors.invalid_attribute_value(name)
            out[name] = value.lower()
        elif name in ENUMS:
            if value not in ENUMS[name]:
                raise errors.invalid_attribute_value(name)
            out[name] = value
        elif name == "RedrivePolicy":
            out[name] = (
                ""
                if value == "" and not creating
                else canonical_redrive(parse_redrive_policy(value))
            )
        else:
            out[name] = value
    if fifo:
        out.pop("FifoQueue", None)
    elif out.get("FifoQueue") == "false":
        del out["FifoQueue"]
    return out


def effective_attributes(stored: Mapping[str, str], fifo: bool) -> dict[str, str]:
    """Stored attributes over the defaults of the queue's type."""
    merged = dict(DEFAULTS)
    if fifo:
        merged.update(FIFO_DEFAULTS)
    merged.update(stored)
    return {k: v for k, v in merged.items() if v != ""}


def first_difference(requested: Mapping[str, str], current: Mapping[str, str]) -> str | None:
    """The first requested attribute whose value differs from the queue's (CreateQueue)."""
    for name, value in requested.items():
        if current.get(name) != value:
            return name
    return None


def redrive_of(attributes: Mapping[str, str]) -> RedrivePolicy | None:
    text = attributes.get("RedrivePolicy")
    if not text:
        return None
    doc = json.loads(text)
    return RedrivePolicy(str(doc["deadLetterTargetArn"]), int(doc["maxReceiveCount"]))


def select_attribute_names(names: list[str]) -> set[str]:
    """GetQueueAttributes names: validated, ``All`` expanded."""
    for name in names:
        if name not in READABLE:
            raise errors.invalid_attribute_name(name)
    if "All" in names:
        return set(READABLE - {"All"})
    return set(names)


# --- messages ------------------------------------------------------------------


def check_body(body: str) -> None:
    """Reject characters outside the XML character set SQS accepts."""
    found = _INVALID_CHAR.search(body)
    if found is not None:
        raise errors.invalid_message_contents(found.group())


def validate_message_attributes(attributes: Any) -> dict[str, dict[str, str]]:
    """Validate wire-form MessageAttributes; return {name: {DataType, StringValue|BinaryValue}}."""
    if attributes is None:
        return {}
    if not isinstance(attributes, dict):
        raise errors.invalid_parameter("MessageAttributes must be a map.")
    if len(attributes) > MAX_MESSAGE_ATTRIBUTES:
        raise errors.invalid_parameter(
            f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum "
            f"[{MAX_MESSAGE_ATTRIBUTES}]."
        )
    out: dict[str, dict[str, str]] = {}
    for name, value in attributes.items():
        lowered = name.lower()
        if (
            not ATTRIBUTE_NAME_RE.fullmatch(name)
            or lowered.startswith(("aws.", "amazon."))
            or name.startswith(".")
            or name.endswith(".")
            or ".." in name
        ):
            raise errors.invalid_parameter(f"Message (user) attribute name '{name}' is invalid.")
        if not isinstance(value, dict) or not isinstance(value.get("DataType"), str):
            raise errors.invalid_parameter(
                f"The message attribute '{name}' must contain non-empty message attribute type."
            )
        data_type = value["DataType"]
        base = data_type.split(".", 1)[0]
        if base not in ("String", "Number", "Binary") or len(data_type) > 256:
            raise errors.invalid_parameter(
                f"The type of message (user) attribute '{name}' is invalid. You must use only the "
                "following supported type prefixes: Binary, Number, String."
            )
        if base == "Binary":
            blob = value.get("BinaryValue")
            try:
                decoded = base64.b64decode(blob or "", validate=True)
            except (binascii.Error, TypeError):
                decoded = b""
            if not decoded:
                raise errors.invalid_parameter(
                    f"The message attribute '{name}' with type 'Binary' must use field 'Binary'."
                )
            out[name] = {"DataType": data_type, "BinaryValue": str(blob)}
            continue
        text = value.get("StringValue")
        if not isinstance(text, str) or text == "":
            raise errors.invalid_parameter(
                f"The message attribute '{name}' with type '{base}' must use field 'String'."
            )
        if base == "Number":
            try:
                float(text)
            except ValueError:
                raise errors.invalid_parameter(
                    f"Could not cast message attribute '{name}' value to number."
                ) from None
        check_body(text)
        out[name] = {"DataType": data_type, "StringValue": text}
    return out


def message_size(body: str, attributes: Mapping[str, Mapping[str, str]]) -> int:
    """Bytes counted against MaximumMessageSize: body plus attribute names, types and values."""
    size = len(body.encode("utf-8"))
    for name, value in attributes.items():
        size += len(name.encode("utf-8")) + len(value["DataType"].encode("utf-8"))
        if "BinaryValue" in value:
            size += len(base64.b64decode(value["BinaryValue"]))
        else:
            size += len(value["StringValue"].encode("utf-8"))
    return size


def validate_system_attributes(attributes: Any) -> dict[str, dict[str, str]]:
    """MessageSystemAttributes: only ``AWSTraceHeader`` (a String) is accepted."""
    if not attributes:
        return {}
    if not isinstance(attributes, dict):
        raise errors.invalid_parameter("MessageSystemAttributes must be a map.")
    out: dict[str, dict[str, str]] = {}
    for name, value in attributes.items():
        if name != "AWSTraceHeader":
            raise errors.invalid_parameter(f"Message system attribute name '{name}' is invalid.")
        if (
            not isinstance(value, dict)
            or value.get("DataType") != "String"
            or not value.get("StringValue")
        ):
            raise errors.invalid_parameter(
                "Message system attribute 'AWSTraceHeader' must be of type 'String'."
            )
        out[name] = {"DataType": "String", "StringValue": str(value["StringValue"])}
    return out


def wants_attribute(name: str, patterns: list[str]) -> bool:
    """Does a MessageAttributeNames selection (``All``, ``.*``, ``prefix.*``, names) include ``name``?"""
    for pattern in patterns:
        if pattern in ("All", ".*") or pattern == name:
            return True
        if pattern.endswith(".*") and name.startswith(pattern[:-1]):
            return True
    return False


def select_message_attributes(
    attributes: Mapping[str, Mapping[str, str]], patterns: list[str]
) -> dict[str, dict[str, str]]:
    if not patterns:
        return {}
    return {k: dict(v) for k, v in attributes.items() if wants_attribute(k, patterns)}


def select_system_attributes(values: Mapping[str, str], names: list[str]) -> dict[str, str]:
    """The message system attributes a receive asked for (``All`` or names)."""
    if not names:
        return {}
    if "All" in names:
        return dict(values)
    return {k: v for k, v in values.items() if k in names}


def validate_batch_ids(ids: list[Any], entry_shape: str) -> None:
    """The checks every batch request gets before any entry is processed."""
    if not ids:
        raise errors.empty_batch(entry_shape)
    if len(ids) > 10:
        raise errors.too_many_entries(len(ids))
    seen: set[str] = set()
    for entry_id in ids:
        if not isinstance(entry_id, str) or not BATCH_ID_RE.fullmatch(entry_id):
            raise errors.invalid_batch_entry_id()
        if entry_id in seen:
            raise errors.ids_not_distinct(entry_id)
        seen.add(entry_id)
