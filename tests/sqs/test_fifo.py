"""FIFO queues through boto3: group ordering, in-flight blocking, deduplication, sequence numbers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

NewQueue = Callable[..., tuple[str, str]]


def test_group_order_and_blocking(sqs: Any, new_queue: NewQueue) -> None:
    url, _ = new_queue("order", fifo=True)
    numbers = []
    for body, group in (("a1", "A"), ("b1", "B"), ("a2", "A"), ("b2", "B"), ("a3", "A")):
        sent = sqs.send_message(
            QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body
        )
        numbers.append(int(sent["SequenceNumber"]))
    assert numbers == sorted(numbers)
    [a1] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["All"])[
        "Messages"
    ]
    assert a1["Body"] == "a1"
    assert a1["Attributes"]["MessageGroupId"] == "A"
    assert a1["Attributes"]["MessageDeduplicationId"] == "a1"
    assert int(a1["Attributes"]["SequenceNumber"]) == numbers[0]
    # While a1 is in flight, group A waits; group B is served in order.
    bodies = [
        m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    ]
    assert bodies == ["b1", "b2"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=a1["ReceiptHandle"])
    rest = [
        m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    ]
    assert rest == ["a2", "a3"]


def test_failed_message_keeps_its_place(sqs: Any, new_queue: NewQueue) -> None:
    url, _ = new_queue("retry", fifo=True)
    for body in ("1", "2"):
        sqs.send_message(
            QueueUrl=url, MessageBody=body, MessageGroupId="g", MessageDeduplicationId=body
        )
    [first] = sqs.receive_message(QueueUrl=url)["Messages"]
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0
    )
    [again] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert again["Body"] == "1"


def test_deduplication(sqs: Any, new_queue: NewQueue) -> None:
    url, _ = new_queue("dedup", fifo=True)
    first = sqs.send_message(
        QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="same"
    )
    second = sqs.send_message(
        QueueUrl=url, MessageBody="y", MessageGroupId="g", MessageDeduplicationId="same"
    )
    assert second["MessageId"] == first["MessageId"]
    assert second["SequenceNumber"] == first["SequenceNumber"]
    batch = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {
                "Id": "a",
                "MessageBody": "z",
                "MessageGroupId": "g",
                "MessageDeduplicationId": "same",
            },
            {"Id": "b", "MessageBody": "w", "MessageGroupId": "g", "MessageDeduplicationId": "new"},
        ],
    )
    assert batch["Successful"][0]["MessageId"] == first["MessageId"]
    bodies = [
        m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    ]
    assert bodies == ["x", "w"]


def test_content_based_deduplication(sqs: Any, new_queue: NewQueue) -> None:
    url, _ = new_queue("cbd", fifo=True, ContentBasedDeduplication="true")
    first = sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
    again = sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="h")
    other = sqs.send_message(QueueUrl=url, MessageBody="other body", MessageGroupId="g")
    assert again["MessageId"] == first["MessageId"] != other["MessageId"]
    [m] = sqs.receive_message(QueueUrl=url, AttributeNames=["MessageDeduplicationId"])["Messages"]
    assert len(m["Attributes"]["MessageDeduplicationId"]) == 64  # SHA-256 of the body


def test_dedup_scope_per_group(sqs: Any, new_queue: NewQueue) -> None:
    url, _ = new_queue(
        "scope",
        fifo=True,
        DeduplicationScope="messageGroup",
        FifoThroughputLimit="perMessageGroupId",
    )
    a = sqs.send_message(
        QueueUrl=url, MessageBody="x", MessageGroupId="g1", MessageDeduplicationId="d"
    )
    b = sqs.send_message(
        QueueUrl=url, MessageBody="x", MessageGroupId="g2", MessageDeduplicationId="d"
    )
    assert a["MessageId"] != b["MessageId"]


def test_fifo_errors(sqs: Any, new_queue: NewQueue) -> None:
    url, _ = new_queue("ferr", fifo=True)
    with pytest.raises(ClientError) as caught:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="d")
    assert caught.value.response["Error"]["Code"] == "MissingParameter"
    assert caught.value.response["Error"]["Message"] == (
        "The request must contain the parameter MessageGroupId."
    )
    with pytest.raises(ClientError) as caught:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g")
    assert caught.value.response["Error"]["Message"] == (
        "The queue should either have ContentBasedDeduplication enabled or "
        "MessageDeduplicationId provided explicitly"
    )
    with pytest.raises(ClientError) as caught:
        sqs.send_message(
            QueueUrl=url,
            MessageBody="x",
            MessageGroupId="g",
            MessageDeduplicationId="d",
            DelaySeconds=5,
        )
    assert caught.value.response["Error"]["Message"] == (
        "Value 5 for parameter DelaySeconds is invalid. Reason: The request include parameter "
        "that is not valid for this queue type."
    )
    std_url, _ = new_queue("std")
    _, fifo_arn = new_queue("fdlq", fifo=True)
    with pytest.raises(ClientError) as caught:
        sqs.set_queue_attributes(
            QueueUrl=std_url,
            Attributes={
                "RedrivePolicy": f'{{"deadLetterTargetArn":"{fifo_arn}","maxReceiveCount":2}}'
            },
        )
    assert "same type of queue" in caught.value.response["Error"]["Message"]
