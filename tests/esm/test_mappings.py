"""Create/Get/Update/Delete/ListEventSourceMappings through boto3's lambda client."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.esm.conftest import wait_for, wait_state

NewQueue = Callable[..., tuple[str, str]]


def test_lifecycle(lam: Any, new_queue: NewQueue, recorder: Callable[..., str]) -> None:
    _, arn = new_queue("life")
    name = recorder()
    created = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=5)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert created["State"] == "Creating"
    assert created["StateTransitionReason"] == "USER_INITIATED"
    assert created["LastProcessingResult"] == "No records processed"
    assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    assert created["EventSourceArn"] == arn
    assert created["BatchSize"] == 5 and created["MaximumBatchingWindowInSeconds"] == 0
    assert created["FunctionResponseTypes"] == []
    assert created["EventSourceMappingArn"].endswith(f":event-source-mapping:{created['UUID']}")
    assert isinstance(created["LastModified"], datetime.datetime)
    uuid = created["UUID"]
    wait_state(lam, uuid, "Enabled")

    updated = lam.update_event_source_mapping(
        UUID=uuid,
        BatchSize=3,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        ScalingConfig={"MaximumConcurrency": 2},
        FilterCriteria={"Filters": [{"Pattern": '{"body": {"k": ["v"]}}'}]},
    )
    assert updated["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert updated["State"] == "Updating"
    settled = wait_state(lam, uuid, "Enabled")
    assert settled["BatchSize"] == 3
    assert settled["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert settled["ScalingConfig"] == {"MaximumConcurrency": 2}
    assert settled["FilterCriteria"] == {"Filters": [{"Pattern": '{"body": {"k": ["v"]}}'}]}
    assert settled["LastModified"] >= created["LastModified"]

    assert lam.update_event_source_mapping(UUID=uuid, Enabled=False)["State"] == "Disabling"
    wait_state(lam, uuid, "Disabled")
    assert lam.update_event_source_mapping(UUID=uuid, Enabled=True)["State"] == "Enabling"
    wait_state(lam, uuid, "Enabled")

    deleted = lam.delete_event_source_mapping(UUID=uuid)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert deleted["State"] == "Deleting"

    def gone() -> bool:
        try:
            lam.get_event_source_mapping(UUID=uuid)
        except lam.exceptions.ResourceNotFoundException as error:
            assert error.response["Error"]["Message"] == (
                "The resource you requested does not exist."
            )
            return True
        return False

    wait_for(gone, 5)


def test_list_filters_and_paging(
    lam: Any, new_queue: NewQueue, recorder: Callable[..., str]
) -> None:
    _, arn = new_queue("list")
    _, other_arn = new_queue("other")
    first, second = recorder(), recorder()
    a = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=first)["UUID"]
    b = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=second)["UUID"]
    c = lam.create_event_source_mapping(EventSourceArn=other_arn, FunctionName=first)["UUID"]
    by_source = lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]
    assert {m["UUID"] for m in by_source} == {a, b}
    by_function = lam.list_event_source_mappings(FunctionName=first)["EventSourceMappings"]
    assert {m["UUID"] for m in by_function} == {a, c}
    both = lam.list_event_source_mappings(EventSourceArn=arn, FunctionName=second)
    assert [m["UUID"] for m in both["EventSourceMappings"]] == [b]
    page = lam.list_event_source_mappings(EventSourceArn=arn, MaxItems=1)
    assert len(page["EventSourceMappings"]) == 1 and "NextMarker" in page
    rest = lam.list_event_source_mappings(EventSourceArn=arn, MaxItems=1, Marker=page["NextMarker"])
    assert len(rest["EventSourceMappings"]) == 1 and "NextMarker" not in rest
    assert {page["EventSourceMappings"][0]["UUID"], rest["EventSourceMappings"][0]["UUID"]} == {
        a,
        b,
    }
    paginated = lam.get_paginator("list_event_source_mappings").paginate(
        FunctionName=first, PaginationConfig={"PageSize": 1}
    )
    assert {m["UUID"] for p in paginated for m in p["EventSourceMappings"]} == {a, c}
    for uuid in (a, b, c):
        lam.delete_event_source_mapping(UUID=uuid)


def test_qualified_function_names(
    lam: Any, new_queue: NewQueue, recorder: Callable[..., str]
) -> None:
    _, arn = new_queue("alias")
    name = recorder()
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    full = f"arn:aws:lambda:us-east-1:123456789012:function:{name}:live"
    created = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=full)
    assert created["FunctionArn"] == full
    with pytest.raises(lam.exceptions.ResourceConflictException) as caught:
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=f"{name}:live")
    assert caught.value.response["Error"]["Message"] == (
        f'An event source mapping with SQS arn (" {arn} ") and function (" {name} ") already '
        f"exists. Please update or delete the existing mapping with UUID {created['UUID']}"
    )
    versioned = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=f"{name}:1")
    assert versioned["FunctionArn"].endswith(f":function:{name}:1")
    for uuid in (created["UUID"], versioned["UUID"]):
        lam.delete_event_source_mapping(UUID=uuid)


def test_validation(lam: Any, new_queue: NewQueue, recorder: Callable[..., str]) -> None:
    _, arn = new_queue("valid", VisibilityTimeout="5")
    _, fifo_arn = new_queue("valid", fifo=True)
    name = recorder()
    slow = recorder(timeout=10)

    def error(**params: Any) -> tuple[str, str]:
        params.setdefault("FunctionName", name)
        with pytest.raises(ClientError) as caught:
            lam.create_event_source_mapping(**params)
        return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]

    code, message = error(EventSourceArn="arn:aws:kinesis:us-east-1:123456789012:stream/s")
    assert code == "InvalidParameterValueException" and "SQS" in message
    code, _ = error(EventSourceArn=arn, FunctionName="no-such-function")
    assert code == "ResourceNotFoundException"
    code, message = error(EventSourceArn=arn[:-3] + "zzz")
    assert code == "InvalidParameterValueException" and "does not exist" in message
    assert error(EventSourceArn=arn, BatchSize=20) == (
        "InvalidParameterValueException",
        "Maximum batch window in seconds must be greater than 0 if maximum batch size is "
        "greater than 10",
    )
    assert error(EventSourceArn=fifo_arn, MaximumBatchingWindowInSeconds=1) == (
        "InvalidParameterValueException",
        "Batching window is not supported for FIFO queues",
    )
    assert error(EventSourceArn=arn, StartingPosition="LATEST") == (
        "InvalidParameterValueException",
        "StartingPosition is not valid for SQS event sources.",
    )
    code, _ = error(EventSourceArn=arn, ScalingConfig={"MaximumConcurrency": 1001})
    assert code == "ValidationException"
    code, _ = error(EventSourceArn=arn, FilterCriteria={"Filters": [{"Pattern": "{nope"}]})
    assert code == "InvalidParameterValueException"
    assert error(EventSourceArn=arn, FunctionName=slow) == (
        "InvalidParameterValueException",
        "Queue visibility timeout: 5 seconds is less than Function timeout: 10 seconds",
    )
    ok = lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=name, BatchSize=100, MaximumBatchingWindowInSeconds=1
    )
    assert ok["BatchSize"] == 100
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_event_source_mapping(UUID=ok["UUID"], MaximumBatchingWindowInSeconds=0)
    lam.delete_event_source_mapping(UUID=ok["UUID"])
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_event_source_mapping(UUID="00000000-0000-0000-0000-000000000000")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.update_event_source_mapping(UUID="00000000-0000-0000-0000-000000000000", BatchSize=1)
