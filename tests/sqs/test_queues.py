"""Queue operations through boto3's sqs client (JSON protocol) against a live server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

NewQueue = Callable[..., tuple[str, str]]


def test_create_get_list_delete(sqs: Any, server: Any) -> None:
    prefix = f"lst{uuid.uuid4().hex[:6]}"
    urls = [sqs.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(3)]
    assert urls[0] == f"{server.endpoint}/123456789012/{prefix}-0"
    assert sqs.get_queue_url(QueueName=f"{prefix}-1")["QueueUrl"] == urls[1]
    assert sqs.list_queues(QueueNamePrefix=prefix)["QueueUrls"] == urls
    first = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2)
    assert first["QueueUrls"] == urls[:2]
    second = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2, NextToken=first["NextToken"])
    assert second["QueueUrls"] == urls[2:] and "NextToken" not in second
    pages = sqs.get_paginator("list_queues").paginate(QueueNamePrefix=prefix, MaxResults=1)
    assert [u for page in pages for u in page.get("QueueUrls", [])] == urls
    sqs.delete_queue(QueueUrl=urls[0])
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as caught:
        sqs.get_queue_url(QueueName=f"{prefix}-0")
    assert caught.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=urls[0], MessageBody="x")
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix="nothing-has-this-prefix")


def test_create_is_idempotent_only_with_the_same_attributes(sqs: Any) -> None:
    name = f"idem-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "5"})["QueueUrl"]
    assert (
        sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "5"})["QueueUrl"] == url
    )
    assert sqs.create_queue(QueueName=name)["QueueUrl"] == url
    with pytest.raises(sqs.exceptions.QueueNameExists) as caught:
        sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "6"})
    assert caught.value.response["Error"]["Code"] == "QueueAlreadyExists"
    assert caught.value.response["Error"]["Message"] == (
        "A queue already exists with the same name and a different value for attribute "
        "VisibilityTimeout"
    )


@pytest.mark.parametrize(
    ("name", "attributes", "code"),
    [
        ("bad name!", {}, "InvalidParameterValue"),
        ("x" * 81, {}, "InvalidParameterValue"),
        ("nofifo", {"FifoQueue": "true"}, "InvalidParameterValue"),
        ("ok", {"Bogus": "1"}, "InvalidAttributeName"),
        ("ok", {"VisibilityTimeout": "-1"}, "InvalidAttributeValue"),
        ("ok", {"ContentBasedDeduplication": "true"}, "InvalidAttributeName"),
        (
            "ok",
            {
                "RedrivePolicy": json.dumps(
                    {
                        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:missing",
                        "maxReceiveCount": 1,
                    }
                )
            },
            "InvalidParameterValue",
        ),
    ],
)
def test_create_validation(sqs: Any, name: str, attributes: dict[str, str], code: str) -> None:
    with pytest.raises(ClientError) as caught:
        sqs.create_queue(QueueName=name, Attributes=attributes)
    assert caught.value.response["Error"]["Code"] == code


def test_attributes_all_specific_and_set(sqs: Any, new_queue: NewQueue) -> None:
    url, arn = new_queue("attrs", DelaySeconds="1")
    everything = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert everything["QueueArn"] == arn
    assert everything["VisibilityTimeout"] == "30"
    assert everything["DelaySeconds"] == "1"
    assert everything["MessageRetentionPeriod"] == "345600"
    assert everything["MaximumMessageSize"] == "1048576"
    assert everything["ReceiveMessageWaitTimeSeconds"] == "0"
    assert int(everything["CreatedTimestamp"]) <= int(everything["LastModifiedTimestamp"])
    for key in (
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ):
        assert everything[key] == "0"
    assert "FifoQueue" not in everything and "RedrivePolicy" not in everything
    some = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout", "QueueArn"])
    assert some["Attributes"] == {"VisibilityTimeout": "30", "QueueArn": arn}
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"VisibilityTimeout": "7", "DelaySeconds": "0"}
    )
    after = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert after["VisibilityTimeout"] == "7" and after["DelaySeconds"] == "0"
    with pytest.raises(sqs.exceptions.InvalidAttributeName) as caught:
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Nope"])
    assert caught.value.response["Error"]["Message"] == "Unknown Attribute Nope."
    with pytest.raises(sqs.exceptions.InvalidAttributeValue):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"MessageRetentionPeriod": "1"})
    with pytest.raises(sqs.exceptions.InvalidAttributeName):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"QueueArn": "x"})


def test_fifo_queue_attributes(sqs: Any, new_queue: NewQueue) -> None:
    url, _ = new_queue("fifoattrs", fifo=True, ContentBasedDeduplication="true")
    values = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert values["FifoQueue"] == "true" and values["ContentBasedDeduplication"] == "true"
    assert values["DeduplicationScope"] == "queue"


def test_message_counts(sqs: Any, new_queue: NewQueue) -> None:
    url, _ = new_queue("counts")
    sqs.send_message(QueueUrl=url, MessageBody="visible")
    sqs.send_message(QueueUrl=url, MessageBody="received")
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=60)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)
    values = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    assert values == {
        "ApproximateNumberOfMessages": "1",
        "ApproximateNumberOfMessagesNotVisible": "1",
        "ApproximateNumberOfMessagesDelayed": "1",
    }


def test_purge(sqs: Any, new_queue: NewQueue) -> None:
    url, _ = new_queue("purge")
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(n))
    sqs.purge_queue(QueueUrl=url)
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress):
        sqs.purge_queue(QueueUrl=url)


def test_tags_and_dead_letter_sources(sqs: Any, new_queue: NewQueue) -> None:
    dlq_url, dlq_arn = new_queue("dlq")
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    url, _ = new_queue("src", RedrivePolicy=policy)
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq_url)["queueUrls"] == [url]
    stored = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"][
            "RedrivePolicy"
        ]
    )
    assert stored == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}
    sqs.tag_queue(QueueUrl=url, Tags={"team": "a", "env": "dev"})
    sqs.untag_queue(QueueUrl=url, TagKeys=["env"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "a"}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": ""})
    assert (
        "RedrivePolicy"
        not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    )


def test_unknown_operation_and_queue(sqs: Any, server: Any) -> None:
    with pytest.raises(sqs.exceptions.UnsupportedOperation):
        sqs.add_permission(
            QueueUrl=f"{server.endpoint}/123456789012/x",
            Label="l",
            AWSAccountIds=["1"],
            Actions=["SendMessage"],
        )
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.receive_message(QueueUrl=f"{server.endpoint}/999999999999/x")
