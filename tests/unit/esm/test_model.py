"""Mapping validation and wire shape (lambdahost.esm.model)."""

from __future__ import annotations

import pytest

from lambdahost.errors import ApiError
from lambdahost.esm.model import (
    EsmConfig,
    MappingRecord,
    apply_request,
    shape,
    validate_source_arn,
    visibility_error,
)
from lambdahost.esm.states import EsmState

QUEUE = "arn:aws:sqs:us-east-1:123456789012:q"


def test_defaults_and_round_trip() -> None:
    config = apply_request({}, EsmConfig(), fifo=False)
    assert config == EsmConfig(batch_size=10, window_s=0, enabled=True)
    full = apply_request(
        {
            "BatchSize": 100,
            "MaximumBatchingWindowInSeconds": 2,
            "Enabled": False,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": 3},
            "FilterCriteria": {"Filters": [{"Pattern": '{"body": {"a": ["b"]}}'}]},
        },
        EsmConfig(),
        fifo=False,
    )
    assert full.report_failures and full.max_concurrency == 3 and not full.enabled
    assert EsmConfig.from_json(full.to_json()) == full


@pytest.mark.parametrize(
    ("body", "fifo", "code", "message"),
    [
        (
            {"BatchSize": 11},
            False,
            "InvalidParameterValueException",
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is "
            "greater than 10",
        ),
        (
            {"BatchSize": 11, "MaximumBatchingWindowInSeconds": 1},
            True,
            "InvalidParameterValueException",
            "Batching window is not supported for FIFO queues",
        ),
        (
            {"BatchSize": 11},
            True,
            "InvalidParameterValueException",
            "Maximum batch size must be between 1 and 10 inclusive",
        ),
        (
            {"BatchSize": 10001, "MaximumBatchingWindowInSeconds": 1},
            False,
            "ValidationException",
            "1 validation error detected: Value '10001' at 'batchSize' failed to satisfy "
            "constraint: Member must have value less than or equal to 10000",
        ),
        ({"MaximumBatchingWindowInSeconds": 301}, False, "ValidationException", None),
        ({"ScalingConfig": {"MaximumConcurrency": 1}}, False, "ValidationException", None),
        ({"ScalingConfig": {"MaximumConcurrency": 1001}}, False, "ValidationException", None),
        ({"FunctionResponseTypes": ["Nope"]}, False, "ValidationException", None),
        (
            {"StartingPosition": "LATEST"},
            False,
            "InvalidParameterValueException",
            "StartingPosition is not valid for SQS event sources.",
        ),
        ({"ParallelizationFactor": 2}, False, "InvalidParameterValueException", None),
        (
            {"FilterCriteria": {"Filters": [{"Pattern": "nope"}]}},
            False,
            "InvalidParameterValueException",
            "Invalid filter pattern definition.",
        ),
    ],
)
def test_rejected_requests(
    body: dict[str, object], fifo: bool, code: str, message: str | None
) -> None:
    with pytest.raises(ApiError) as caught:
        apply_request(body, EsmConfig(), fifo)
    assert caught.value.code == code
    if message is not None:
        assert caught.value.message == message


def test_update_merges_and_clears() -> None:
    base = apply_request(
        {
            "ScalingConfig": {"MaximumConcurrency": 4},
            "FilterCriteria": {"Filters": [{"Pattern": "{}"}]},
        },
        EsmConfig(),
        fifo=False,
    )
    updated = apply_request({"BatchSize": 5}, base, fifo=False)
    assert updated.batch_size == 5 and updated.max_concurrency == 4 and updated.filters == ("{}",)
    cleared = apply_request({"ScalingConfig": {}, "FilterCriteria": {}}, base, fifo=False)
    assert cleared.max_concurrency is None and cleared.filters == ()


def test_source_arns() -> None:
    assert validate_source_arn(QUEUE) == QUEUE
    with pytest.raises(ApiError) as caught:
        validate_source_arn("arn:aws:kinesis:us-east-1:123456789012:stream/s")
    assert caught.value.code == "InvalidParameterValueException"
    assert "SQS" in caught.value.message and "kinesis" in caught.value.message
    with pytest.raises(ApiError) as caught:
        validate_source_arn("not-an-arn")
    assert caught.value.code == "ValidationException"
    with pytest.raises(ApiError):
        validate_source_arn(None)


def test_visibility_must_cover_the_function_timeout() -> None:
    assert visibility_error(30, 30) is None
    error = visibility_error(30, 60)
    assert error is not None
    assert (
        error.message
        == "Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds"
    )


def test_shape() -> None:
    record = MappingRecord(
        uuid="11111111-2222-3333-4444-555555555555",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:f:live",
        event_source_arn=QUEUE,
        config=EsmConfig(max_concurrency=2, filters=('{"a": ["b"]}',)),
        state=EsmState.ENABLED,
        state_reason="USER_INITIATED",
        last_modified=1700000000.5,
        last_result="OK",
    )
    out = shape(record, "us-east-1", "123456789012")
    assert out["LastModified"] == 1700000000.5
    assert out["State"] == "Enabled"
    assert out["ScalingConfig"] == {"MaximumConcurrency": 2}
    assert out["FilterCriteria"] == {"Filters": [{"Pattern": '{"a": ["b"]}'}]}
    assert out["EventSourceMappingArn"] == (
        "arn:aws:lambda:us-east-1:123456789012:event-source-mapping:"
        "11111111-2222-3333-4444-555555555555"
    )
    assert out["FunctionResponseTypes"] == []
