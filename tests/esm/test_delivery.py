"""Event source mappings deliver SQS messages to functions: batches, failures, filters, DLQs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lambdahost.sqs.digest import md5_of_body
from tests.esm.conftest import bodies, drain, invocations, queue_depth, wait_for, wait_state

NewQueue = Callable[..., tuple[str, str]]
Recorder = Callable[..., str]


def test_function_consumes_messages(
    lam: Any, sqs: Any, new_queue: NewQueue, recorder: Recorder, shared_dir: Path
) -> None:
    url, arn = new_queue("consume")
    name = recorder()
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=10)
    sqs.send_message(
        QueueUrl=url,
        MessageBody="first",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "greeting"}},
    )
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(n), "MessageBody": json.dumps({"n": n})} for n in range(10)],
    )
    wait_for(lambda: len(bodies(shared_dir)) >= 11)
    seen = bodies(shared_dir)
    assert sorted(seen) == sorted(["first", *[json.dumps({"n": n}) for n in range(10)]])
    assert all(len(i["records"]) <= 10 for i in invocations(shared_dir))
    record = next(r for i in invocations(shared_dir) for r in i["records"] if r["body"] == "first")
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == "us-east-1"
    assert record["md5OfBody"] == md5_of_body("first")
    assert set(record["attributes"]) == {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    }
    assert record["messageAttributes"] == {
        "kind": {
            "stringValue": "greeting",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    }
    wait_for(lambda: queue_depth(sqs, url) == 0)
    time.sleep(0.3)
    assert len(bodies(shared_dir)) == 11  # each message exactly once
    mapping = lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"][0]
    assert mapping["LastProcessingResult"] == "OK"


def test_partial_batch_failure_leaves_failed_messages_for_the_dlq(
    lam: Any, sqs: Any, new_queue: NewQueue, recorder: Recorder, shared_dir: Path
) -> None:
    dlq_url, dlq_arn = new_queue("dlq")
    url, arn = new_queue(
        "partial",
        VisibilityTimeout="1",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}),
    )
    sent = ["ok-1", "bad-1", "ok-2", "bad-2", "ok-3"]
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": body} for n, body in enumerate(sent)]
    )
    name = recorder(timeout=1)
    lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=name, FunctionResponseTypes=["ReportBatchItemFailures"]
    )
    dead = drain(sqs, dlq_url, 2)
    assert sorted(m["Body"] for m in dead) == ["bad-1", "bad-2"]
    assert all(m["Attributes"]["DeadLetterQueueSourceArn"] == arn for m in dead)
    assert sorted(bodies(shared_dir)) == sorted(sent)  # nothing was invoked twice
    assert queue_depth(sqs, url) == 0


@pytest.mark.parametrize("mode", ["raise", "bogus"])
def test_failed_batch_keeps_every_message(
    lam: Any, sqs: Any, new_queue: NewQueue, recorder: Recorder, shared_dir: Path, mode: str
) -> None:
    dlq_url, dlq_arn = new_queue("dlq")
    url, arn = new_queue(
        "fail",
        VisibilityTimeout="1",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}),
    )
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"ok-{n}"} for n in range(3)]
    )
    name = recorder(mode=mode, timeout=1)
    uuid = lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=name, FunctionResponseTypes=["ReportBatchItemFailures"]
    )["UUID"]
    dead = drain(sqs, dlq_url, 3)
    assert sorted(m["Body"] for m in dead) == ["ok-0", "ok-1", "ok-2"]
    assert sorted(bodies(shared_dir)) == ["ok-0", "ok-1", "ok-2"]
    mapping = lam.get_event_source_mapping(UUID=uuid)
    assert mapping["LastProcessingResult"].startswith("PROBLEM")


def test_filter_criteria_drop_non_matching_messages(
    lam: Any, sqs: Any, new_queue: NewQueue, recorder: Recorder, shared_dir: Path
) -> None:
    url, arn = new_queue("filter")
    name = recorder()
    lam.create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName=name,
        FilterCriteria={
            "Filters": [
                {
                    "Pattern": json.dumps(
                        {"body": {"kind": ["keep"], "size": [{"numeric": [">", 5]}]}}
                    )
                },
                {"Pattern": json.dumps({"body": ["plain keep"]})},
            ]
        },
    )
    messages = [
        json.dumps({"kind": "keep", "size": 10}),
        json.dumps({"kind": "keep", "size": 1}),
        json.dumps({"kind": "drop", "size": 10}),
        "plain keep",
        "plain drop",
    ]
    for body in messages:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    wait_for(lambda: queue_depth(sqs, url) == 0)
    time.sleep(0.2)
    assert sorted(bodies(shared_dir)) == sorted([messages[0], "plain keep"])


def test_disable_stops_polling_and_enable_resumes(
    lam: Any, sqs: Any, new_queue: NewQueue, recorder: Recorder, shared_dir: Path
) -> None:
    url, arn = new_queue("toggle")
    name = recorder()
    uuid = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, Enabled=False)[
        "UUID"
    ]
    wait_state(lam, uuid, "Disabled")
    sqs.send_message(QueueUrl=url, MessageBody="waiting")
    time.sleep(0.5)
    assert bodies(shared_dir) == []
    assert queue_depth(sqs, url) == 1
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    wait_for(lambda: bodies(shared_dir) == ["waiting"])
    wait_state(lam, uuid, "Enabled")
    lam.update_event_source_mapping(UUID=uuid, Enabled=False)
    wait_state(lam, uuid, "Disabled")
    sqs.send_message(QueueUrl=url, MessageBody="parked")
    time.sleep(0.5)
    assert bodies(shared_dir) == ["waiting"]
    lam.delete_event_source_mapping(UUID=uuid)
    assert [m["Body"] for m in drain(sqs, url, 1)] == ["parked"]


def test_maximum_concurrency_caps_parallel_batches(
    lam: Any, sqs: Any, new_queue: NewQueue, recorder: Recorder, shared_dir: Path
) -> None:
    url, arn = new_queue("conc")
    name = recorder(sleep=0.4)
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": str(n)} for n in range(6)]
    )
    lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=name, BatchSize=1, ScalingConfig={"MaximumConcurrency": 2}
    )
    wait_for(lambda: len(invocations(shared_dir)) == 6, timeout=15)
    spans = [(i["start"], i["end"]) for i in invocations(shared_dir)]
    overlap = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert overlap == 2


def test_fifo_order_within_groups(
    lam: Any, sqs: Any, new_queue: NewQueue, recorder: Recorder, shared_dir: Path
) -> None:
    url, arn = new_queue("order", fifo=True, ContentBasedDeduplication="true")
    name = recorder()
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=2)
    for n in range(6):
        sqs.send_message(QueueUrl=url, MessageBody=f"{'ab'[n % 2]}{n}", MessageGroupId="ab"[n % 2])
    wait_for(lambda: len(bodies(shared_dir)) == 6)
    seen = bodies(shared_dir)
    assert [b for b in seen if b[0] == "a"] == ["a0", "a2", "a4"]
    assert [b for b in seen if b[0] == "b"] == ["b1", "b3", "b5"]
    record = invocations(shared_dir)[0]["records"][0]
    assert {"SequenceNumber", "MessageGroupId", "MessageDeduplicationId"} <= set(
        record["attributes"]
    )
