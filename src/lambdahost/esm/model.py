"""Event source mappings as data (pure): the stored record, request validation, wire shape.

Scope: what a CreateEventSourceMapping/UpdateEventSourceMapping body may say
for an SQS source, with AWS's wording (model constraints become
``ValidationException``, semantic rules ``InvalidParameterValueException``),
and ``EventSourceMappingConfiguration`` as Lambda returns it (``LastModified``
is a ``Date``: epoch seconds). Existence checks (function, queue, duplicates)
are the service's job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from lambdahost.core.arns import check_range, constraint_error
from lambdahost.errors import ApiError, invalid_parameter
from lambdahost.esm.filtering import InvalidPattern, parse_pattern
from lambdahost.esm.states import EsmState

SOURCE_ARN_PATTERN = (
    r"arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?"
    r"-[a-z]+-\d{1})?:(\d{12})?:(.*)"
)
_SOURCE_ARN_RE = re.compile(SOURCE_ARN_PATTERN)
RESPONSE_TYPES = ("ReportBatchItemFailures",)
DEFAULT_BATCH_SIZE = 10
NO_RECORDS = "No records processed"
STREAM_ONLY = (
    "ParallelizationFactor",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "TumblingWindowInSeconds",
    "DestinationConfig",
    "Topics",
    "Queues",
    "SourceAccessConfigurations",
    "SelfManagedEventSource",
    "SelfManagedKafkaEventSourceConfig",
    "AmazonManagedKafkaEventSourceConfig",
    "DocumentDBEventSourceConfig",
)


@dataclass(frozen=True)
class EsmConfig:
    batch_size: int = DEFAULT_BATCH_SIZE
    window_s: int = 0
    enabled: bool = True
    response_types: tuple[str, ...] = ()
    max_concurrency: int | None = None
    filters: tuple[str, ...] = ()

    @property
    def report_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.response_types

    def to_json(self) -> str:
        return json.dumps(
            {
                "BatchSize": self.batch_size,
                "MaximumBatchingWindowInSeconds": self.window_s,
                "Enabled": self.enabled,
                "FunctionResponseTypes": list(self.response_types),
                "MaximumConcurrency": self.max_concurrency,
                "Filters": list(self.filters),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> EsmConfig:
        doc = json.loads(text)
        return cls(
            int(doc["BatchSize"]),
            int(doc["MaximumBatchingWindowInSeconds"]),
            bool(doc["Enabled"]),
            tuple(doc["FunctionResponseTypes"]),
            doc.get("MaximumConcurrency"),
            tuple(doc.get("Filters") or ()),
        )


@dataclass(frozen=True)
class MappingRecord:
    uuid: str
    function_arn: str
    event_source_arn: str
    config: EsmConfig
    state: EsmState
    state_reason: str
    last_modified: float
    last_result: str


def mapping_arn(region: str, account: str, uuid: str) -> str:
    return f"arn:aws:lambda:{region}:{account}:event-source-mapping:{uuid}"


def shape(record: MappingRecord, region: str, account: str) -> dict[str, Any]:
    """``EventSourceMappingConfiguration`` for an SQS mapping."""
    config = record.config
    out: dict[str, Any] = {
        "UUID": record.uuid,
        "BatchSize": config.batch_size,
        "MaximumBatchingWindowInSeconds": config.window_s,
        "EventSourceArn": record.event_source_arn,
        "FunctionArn": record.function_arn,
        "LastModified": record.last_modified,
        "LastProcessingResult": record.last_result,
        "State": record.state.value,
        "StateTransitionReason": record.state_reason,
        "FunctionResponseTypes": list(config.response_types),
        "EventSourceMappingArn": mapping_arn(region, account, record.uuid),
    }
    if config.filters:
        out["FilterCriteria"] = {"Filters": [{"Pattern": p} for p in config.filters]}
    if config.max_concurrency is not None:
        out["ScalingConfig"] = {"MaximumConcurrency": config.max_concurrency}
    return out


def is_sqs_arn(arn: str) -> bool:
    return arn.startswith("arn:") and arn.split(":")[2:3] == ["sqs"]


def validate_source_arn(value: Any) -> str:
    if value is None or value == "":
        raise invalid_parameter(
            "EventSourceArn is required: lambdahost maps SQS queues "
            "(arn:aws:sqs:<region>:<account>:<queue>) to functions."
        )
    if not isinstance(value, str) or not _SOURCE_ARN_RE.fullmatch(value):
        raise constraint_error(
            value,
            "eventSourceArn",
            f"Member must satisfy regular expression pattern: {SOURCE_ARN_PATTERN}",
        )
    if not is_sqs_arn(value):
        service = value.split(":")[2]
        raise invalid_parameter(
            f"Unsupported event source: lambdahost supports event source mappings from Amazon "
            f"SQS queues only, not from '{service}' ({value})."
        )
    return value


def _integer(body: Mapping[str, Any], key: str, member: str, low: int, high: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_parameter(f"{key} must be an integer.")
    check_range(value, member, low, high)
    return value


def _response_types(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > 1 or not all(v in RESPONSE_TYPES for v in value):
        raise constraint_error(
            value,
            "functionResponseTypes",
            "Member must satisfy constraint: [Member must satisfy enum value set: "
            "[ReportBatchItemFailures]]",
        )
    return tuple(value)


def _filters(value: Any) -> tuple[str, ...]:
    if not isinstance(value, dict):
        raise invalid_parameter("Invalid filter pattern definition.")
    filters = value.get("Filters") or []
    if not isinstance(filters, list):
        raise invalid_parameter("Invalid filter pattern definition.")
    patterns: list[str] = []
    for item in filters:
        pattern = item.get("Pattern") if isinstance(item, dict) else None
        if not isinstance(pattern, str):
            raise invalid_parameter("Invalid filter pattern definition.")
        if len(pattern) > 4096:
            raise constraint_error(
                pattern,
                "filterCriteria.filters.member.pattern",
                "Member must have length less than or equal to 4096",
            )
        try:
            parse_pattern(pattern)
        except InvalidPattern:
            raise invalid_parameter("Invalid filter pattern definition.") from None
        patterns.append(pattern)
    return tuple(patterns)


def _scaling(value: Any) -> int | None:
    if not isinstance(value, dict):
        raise invalid_parameter("ScalingConfig must be an object.")
    return _integer(value, "MaximumConcurrency", "scalingConfig.maximumConcurrency", 2, 1000)


def apply_request(body: Mapping[str, Any], base: EsmConfig, fifo: bool) -> EsmConfig:
    """Validate a Create/Update body for an SQS source and apply it to ``base``."""
    for key in ("StartingPosition", "StartingPositionTimestamp"):
        if body.get(key) is not None:
            raise invalid_parameter("StartingPosition is not valid for SQS event sources.")
    for key in STREAM_ONLY:
        if body.get(key) not in (None, {}, []):
            raise invalid_parameter(f"{key} is not supported for Amazon SQS event sources.")
    config = base
    batch = _integer(body, "BatchSize", "batchSize", 1, 10000)
    if batch is not None:
        config = replace(config, batch_size=batch)
    window = _integer(
        body, "MaximumBatchingWindowInSeconds", "maximumBatchingWindowInSeconds", 0, 300
    )
    if window is not None:
        config = replace(config, window_s=window)
    if "Enabled" in body:
        if not isinstance(body["Enabled"], bool):
            raise invalid_parameter("Enabled must be a boolean.")
        config = replace(config, enabled=body["Enabled"])
    if body.get("FunctionResponseTypes") is not None:
        config = replace(config, response_types=_response_types(body["FunctionResponseTypes"]))
    if body.get("ScalingConfig") is not None:
        config = replace(config, max_concurrency=_scaling(body["ScalingConfig"]))
    if body.get("FilterCriteria") is not None:
        config = replace(config, filters=_filters(body["FilterCriteria"]))
    check_sqs_limits(config, fifo)
    return config


def check_sqs_limits(config: EsmConfig, fifo: bool) -> None:
    if fifo:
        if config.window_s > 0:
            raise invalid_parameter("Batching window is not supported for FIFO queues")
        if config.batch_size > 10:
            raise invalid_parameter("Maximum batch size must be between 1 and 10 inclusive")
    elif config.batch_size > 10 and config.window_s < 1:
        raise invalid_parameter(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is "
            "greater than 10"
        )


def visibility_error(visibility_s: int, timeout_s: int) -> ApiError | None:
    """AWS refuses an SQS source whose visibility timeout is shorter than the function's timeout."""
    if visibility_s < timeout_s:
        return invalid_parameter(
            f"Queue visibility timeout: {visibility_s} seconds is less than Function timeout: "
            f"{timeout_s} seconds"
        )
    return None
