"""Messages through boto3: attributes and digests, batches, long polling, visibility, redrive."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdahost.sqs.digest import md5_of_attributes, md5_of_body

NewQueue = Callable[..., tuple[str, str]]
ATTRIBUTES = {
    "str": {"DataType": "String", "StringValue": "héllo"},
    "num": {"DataType": "Number.int", "StringValue": "42"},
    "bin": {"DataType": "Binary", "BinaryValue": b"\x00\xffraw"},
    "app.trace": {"DataType": "String", "StringValue": "t"},
}


def _wire(attributes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, value in attributes.items():
        value = dict(value)
        if isinstance(value.get("BinaryValue"), bytes):
            value["BinaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
        out[name] = value
    return out


def test_send_and_receive_with_attributes_and_digests(sqs: Any, new_queue: NewQueue) -> None:
    url, _ = new_queue("attrs")
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody="body ✓",
        MessageAttributes=ATTRIBUTES,
        MessageSystemAttributes={
            "AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-5-6"}
        },
    )
    assert sent["MD5OfMessageBody"] == md5_of_body("body ✓")
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(_wire(ATTRIBUTES))
    assert "MD5OfMessageSystemAttributes" in sent and "SequenceNumber" not in sent
    before = int(time.time() * 1000)
    [message] = sqs.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert message["MessageId"] == sent["MessageId"]
    assert message["Body"] == "body ✓" and message["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert message["MessageAttributes"]["bin"]["BinaryValue"] == b"\x00\xffraw"
    assert message["MessageAttributes"]["num"] == {"StringValue": "42", "DataType": "Number.int"}
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    system = message["Attributes"]
    assert system["ApproximateReceiveCount"] == "1"
    assert system["SenderId"] == "123456789012"
    assert system["AWSTraceHeader"] == "Root=1-5-6"
    assert abs(int(system["SentTimestamp"]) - before) < 5000
    assert int(system["ApproximateFirstReceiveTimestamp"]) >= int(system["SentTimestamp"])


def test_attribute_selection(sqs: Any, new_queue: NewQueue) -> None:
    url, _ = new_queue("select")
    sqs.send_message(QueueUrl=url, MessageBody="b", MessageAttributes=ATTRIBUTES)
    [message] = sqs.receive_message(
        QueueUrl=url,
        MessageAttributeNames=["app.*", "num"],
        AttributeNames=["SentTimestamp"],
        VisibilityTimeout=0,
    )["Messages"]
    assert set(message["MessageAttributes"]) == {"app.trace", "num"}
    wire = _wire({k: ATTRIBUTES[k] for k in ("app.trace", "num")})
    assert message["MD5OfMessageAttributes"] == md5_of_attributes(wire)
    assert set(message["Attributes"]) == {"SentTimestamp"}
    [bare] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert "Attributes" not in bare and "MessageAttributes" not in bare


def test_send_message_batch_reports_each_entry(sqs: Any, new_queue: NewQueue) -> None:
    url, _ = new_queue("batch", MaximumMessageSize="1024")
    result = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "ok-1", "MessageBody": "one"},
            {"Id": "too_long", "MessageBody": "x" * 1025},
            {"Id": "bad-chars", "MessageBody": "bell\x07"},
            {"Id": "ok-2", "MessageBody": "two", "DelaySeconds": 0},
        ],
    )
    assert [e["Id"] for e in result["Successful"]] == ["ok-1", "ok-2"]
    assert result["Successful"][0]["MD5OfMessageBody"] == md5_of_body("one")
    failed = {e["Id"]: e for e in result["Failed"]}
    assert failed["too_long"]["Code"] == "InvalidParameterValue"
    assert failed["too_long"]["SenderFault"] is True
    assert "shorter than 1024 bytes" in failed["too_long"]["Message"]
    assert failed["bad-chars"]["Code"] == "InvalidMessageContents"
    bodies = {
        m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    }
    assert bodies == {"one", "two"}


@pytest.mark.parametrize(
    ("entries", "exception"),
    [
        ([], "EmptyBatchRequest"),
        ([{"Id": str(i), "MessageBody": "x"} for i in range(11)], "TooManyEntriesInBatchRequest"),
        (
            [{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}],
            "BatchEntryIdsNotDistinct",
        ),
        ([{"Id": "bad id", "MessageBody": "x"}], "InvalidBatchEntryId"),
        ([{"Id": str(i), "MessageBody": "x" * 300_000} for i in range(4)], "BatchRequestTooLong"),
    ],
)
def test_batch_request_errors(
    sqs: Any, new_queue: NewQueue, entries: list[Any], exception: str
) -> None:
    url, _ = new_queue("batcherr")
    with pytest.raises(getattr(sqs.exceptions, exception)):
        sqs.send_message_batch(QueueUrl=url, Entries=entries)


def test_message_errors(sqs: Any, new_queue: NewQueue) -> None:
    url, _ = new_queue("errs", MaximumMessageSize="1024")
    with pytest.raises(ClientError) as caught:
        sqs.send_message(QueueUrl=url, MessageBody="x" * 1025)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert caught.value.response["Error"]["Message"] == (
        "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes."
    )
    with pytest.raises(sqs.exceptions.InvalidMessageContents):
        sqs.send_message(QueueUrl=url, MessageBody="\x00")
    with pytest.raises(ClientError) as caught:
        sqs.send_message(QueueUrl=url, MessageBody="")
    assert caught.value.response["Error"]["Code"] == "MissingParameter"
    with pytest.raises(ClientError) as caught:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="d")
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as caught:
        sqs.send_message(QueueUrl=url, MessageBody="x", DelaySeconds=901)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as caught:
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    assert caught.value.response["Error"]["Message"] == (
        "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, "
        "if provided."
    )
    with pytest.raises(ClientError) as caught:
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=21)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as caught:
        sqs.send_message(
            QueueUrl=url,
            MessageBody="x",
            MessageAttributes={"n": {"DataType": "Number", "StringValue": "NaN-ish"}},
        )
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_long_poll_wakes_on_send(sqs: Any, server: Any, new_queue: NewQueue) -> None:
    url, _ = new_queue("long")
    other = server.client("sqs")
    timer = threading.Timer(0.4, lambda: other.send_message(QueueUrl=url, MessageBody="late"))
    started = time.monotonic()
    timer.start()
    try:
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)
    finally:
        timer.join()
    elapsed = time.monotonic() - started
    assert [m["Body"] for m in got["Messages"]] == ["late"]
    assert 0.3 < elapsed < 2.0


def test_long_poll_times_out_empty(sqs: Any, new_queue: NewQueue) -> None:
    url, _ = new_queue("empty", ReceiveMessageWaitTimeSeconds="1")
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    assert 0.9 < time.monotonic() - started < 2.5
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    assert time.monotonic() - started < 0.5


def test_visibility_timeout_expiry_and_change(sqs: Any, new_queue: NewQueue) -> None:
    url, _ = new_queue("vis", VisibilityTimeout="1")
    sqs.send_message(QueueUrl=url, MessageBody="m")
    [first] = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    started = time.monotonic()
    [second] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, AttributeNames=["All"])[
        "Messages"
    ]
    assert 0.5 < time.monotonic() - started < 2.0  # woke when the message became visible
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    assert second["ReceiptHandle"] != first["ReceiptHandle"]
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0
    )
    [third] = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"]
    # A handle from an earlier receive no longer controls the message.
    with pytest.raises(ClientError) as caught:
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0
        )
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert (
        "not available for visibility timeout change" in caught.value.response["Error"]["Message"]
    )
    sqs.delete_message(QueueUrl=url, ReceiptHandle=third["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=third["ReceiptHandle"])  # again: no error
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid) as caught:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="garbage")
    assert caught.value.response["Error"]["Message"] == (
        'The input receipt handle "garbage" is not a valid receipt handle.'
    )


def test_delay_seconds(sqs: Any, new_queue: NewQueue) -> None:
    url, _ = new_queue("delay")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    started = time.monotonic()
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)
    assert [m["Body"] for m in got["Messages"]] == ["later"]
    assert 0.5 < time.monotonic() - started < 2.0


def test_batch_delete_and_visibility(sqs: Any, new_queue: NewQueue) -> None:
    url, _ = new_queue("bdel")
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(3)]
    )
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 3
    changed = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "ReceiptHandle": messages[0]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "b", "ReceiptHandle": "not-a-handle", "VisibilityTimeout": 0},
        ],
    )
    assert [e["Id"] for e in changed["Successful"]] == ["a"]
    assert changed["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    deleted = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "x", "ReceiptHandle": messages[1]["ReceiptHandle"]},
            {"Id": "y", "ReceiptHandle": messages[2]["ReceiptHandle"]},
            {"Id": "z", "ReceiptHandle": "nope"},
        ],
    )
    assert [e["Id"] for e in deleted["Successful"]] == ["x", "y"]
    assert [(e["Id"], e["Code"]) for e in deleted["Failed"]] == [("z", "ReceiptHandleIsInvalid")]
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in left] == [messages[0]["Body"]]


def test_redrive_to_dead_letter_queue(sqs: Any, new_queue: NewQueue) -> None:
    dlq_url, dlq_arn = new_queue("dlq")
    url, src_arn = new_queue(
        "src", RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    )
    sent = sqs.send_message(QueueUrl=url, MessageBody="poison")
    for count in ("1", "2"):
        [m] = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0, AttributeNames=["All"])[
            "Messages"
        ]
        assert m["Attributes"]["ApproximateReceiveCount"] == count
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    [dead] = sqs.receive_message(QueueUrl=dlq_url, MessageSystemAttributeNames=["All"])["Messages"]
    assert dead["MessageId"] == sent["MessageId"] and dead["Body"] == "poison"
    assert dead["Attributes"]["DeadLetterQueueSourceArn"] == src_arn


def test_redrive_wakes_a_dead_letter_long_poll(sqs: Any, server: Any, new_queue: NewQueue) -> None:
    dlq_url, dlq_arn = new_queue("dlq")
    url, _ = new_queue(
        "src",
        VisibilityTimeout="0",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}),
    )
    sqs.send_message(QueueUrl=url, MessageBody="x")
    sqs.receive_message(QueueUrl=url)
    other = server.client("sqs")
    timer = threading.Timer(0.3, lambda: other.receive_message(QueueUrl=url))
    timer.start()
    try:
        got = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=5)
    finally:
        timer.join()
    assert [m["Body"] for m in got["Messages"]] == ["x"]
