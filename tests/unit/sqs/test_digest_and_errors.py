"""MD5 digests as AWS computes them, and SQS errors as boto3 parses them (no sockets)."""

from __future__ import annotations

import base64
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from lambdahost.sqs import errors
from lambdahost.sqs.digest import md5_of_attributes, md5_of_body

BINARY = base64.b64encode(b"Hello binary world!").decode()


@pytest.mark.parametrize(
    ("attributes", "digest"),
    [
        (
            {"attribName1": {"DataType": "String", "StringValue": "attribValue 1"}},
            "19e27d4e946b072f3f58da80d94fd778",
        ),
        (
            {
                "customNumberTypeAttrib": {
                    "DataType": "Number.float",
                    "StringValue": "4563442423554324324264524243.32543234",
                }
            },
            "9fe1b90bbd9965bdf77bac517c7d2495",
        ),
        (
            {"binaryAttribute": {"DataType": "Binary", "BinaryValue": BINARY}},
            "31a92b15d92f8db860eda32aceb656c3",
        ),
        (
            {
                "attribName1": {"DataType": "String", "StringValue": "attribValue 1"},
                "customNumberTypeAttrib": {
                    "DataType": "Number.float",
                    "StringValue": "4563442423554324324264524243.32543234",
                },
                "binaryAttribute": {"DataType": "Binary", "BinaryValue": BINARY},
            },
            "c932db14a896c663f83c260297d594ff",
        ),
    ],
)
def test_attribute_digest_matches_aws_vectors(attributes: dict[str, Any], digest: str) -> None:
    assert md5_of_attributes(attributes) == digest


def test_body_digest_and_empty_attributes() -> None:
    assert md5_of_body("hello") == "5d41402abc4b2a76b9719d911017c592"
    assert md5_of_attributes({}) is None


def _client_answering(response: Any) -> Any:
    """An sqs client whose HTTP layer answers every request with ``response``."""
    client = boto3.client(
        "sqs",
        region_name="us-east-1",
        endpoint_url="http://sqs.invalid",
        aws_access_key_id="k",
        aws_secret_access_key="s",
    )

    def answer(request: Any, **_: Any) -> AWSResponse:
        headers = {k.decode(): v.decode() for k, v in response.headers}
        return AWSResponse(request.url, response.status, headers, _Raw(response.body))

    client.meta.events.register("before-send.sqs.*", answer)
    return client


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


@pytest.mark.parametrize(
    ("error", "exception", "code"),
    [
        (
            errors.queue_does_not_exist(),
            "QueueDoesNotExist",
            "AWS.SimpleQueueService.NonExistentQueue",
        ),
        (errors.queue_name_exists("VisibilityTimeout"), "QueueNameExists", "QueueAlreadyExists"),
        (errors.receipt_handle_invalid("x"), "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid"),
        (
            errors.too_many_entries(11),
            "TooManyEntriesInBatchRequest",
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        ),
        (
            errors.empty_batch("SendMessageBatchRequestEntry"),
            "EmptyBatchRequest",
            "AWS.SimpleQueueService.EmptyBatchRequest",
        ),
        (
            errors.ids_not_distinct("a"),
            "BatchEntryIdsNotDistinct",
            "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        ),
        (errors.invalid_attribute_name("Nope"), "InvalidAttributeName", "InvalidAttributeName"),
        (
            errors.purge_in_progress("q"),
            "PurgeQueueInProgress",
            "AWS.SimpleQueueService.PurgeQueueInProgress",
        ),
    ],
)
def test_boto3_raises_the_modelled_exception(error: Any, exception: str, code: str) -> None:
    client = _client_answering(errors.render(error, "req-1"))
    with pytest.raises(getattr(client.exceptions, exception)) as caught:
        client.get_queue_url(QueueName="q")
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["Error"]["Message"] == error.message
    assert caught.value.response["Error"]["Type"] == "Sender"


def test_unmodelled_errors_keep_their_query_code() -> None:
    client = _client_answering(errors.render(errors.missing_parameter("MessageGroupId"), "r"))
    with pytest.raises(client.exceptions.ClientError) as caught:
        client.get_queue_url(QueueName="q")
    assert caught.value.response["Error"]["Code"] == "MissingParameter"
    assert "MessageGroupId" in caught.value.response["Error"]["Message"]


def test_batch_errors_use_query_codes() -> None:
    entry = errors.BatchError.of("e1", errors.queue_does_not_exist()).wire()
    assert entry == {
        "Id": "e1",
        "SenderFault": True,
        "Code": "AWS.SimpleQueueService.NonExistentQueue",
        "Message": "The specified queue does not exist.",
    }
