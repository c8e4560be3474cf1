"""SQS records and ReportBatchItemFailures (lambdahost.esm.batch), per §13 of the reference."""

from __future__ import annotations

import json

import pytest

from lambdahost.esm.batch import event_payload, item_failures, sqs_record

IDS = ["m1", "m2", "m3"]


def test_record_shape() -> None:
    record = sqs_record(
        message_id="m1",
        receipt_handle="rh",
        body="hi",
        system={
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1",
            "SenderId": "s",
            "ApproximateFirstReceiveTimestamp": "2",
            "SequenceNumber": "9",
            "MessageGroupId": "g",
            "MessageDeduplicationId": "d",
        },
        message_attributes={
            "k": {"DataType": "String", "StringValue": "v"},
            "b": {"DataType": "Binary", "BinaryValue": "AAE="},
        },
        md5_of_body="49f68a5c8493ec2c0bf489821c21fc3b",
        queue_arn="arn:aws:sqs:us-east-1:123456789012:q",
        region="us-east-1",
    )
    assert list(record) == [
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    ]
    assert record["attributes"] == {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": "1",
        "SenderId": "s",
        "ApproximateFirstReceiveTimestamp": "2",
        "SequenceNumber": "9",
        "MessageGroupId": "g",
        "MessageDeduplicationId": "d",
    }
    assert record["messageAttributes"] == {
        "k": {
            "stringValue": "v",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "b": {
            "binaryValue": "AAE=",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    assert record["eventSource"] == "aws:sqs"
    assert json.loads(event_payload([record])) == {"Records": [record]}


@pytest.mark.parametrize(
    ("payload", "failed"),
    [
        (b"", set()),
        (b"null", set()),
        (b"{}", set()),
        (b'{"statusCode": 200}', set()),
        (b'{"batchItemFailures": null}', set()),
        (b'{"batchItemFailures": []}', set()),
        (b'{"batchItemFailures": [{"itemIdentifier": "m2"}]}', {"m2"}),
        (
            b'{"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}',
            {"m1", "m3"},
        ),
        (b"not json", None),
        (b'"ok"', None),
        (b"[]", None),
        (b'{"batchItemFailures": "m1"}', None),
        (b'{"batchItemFailures": [{"itemIdentifier": ""}]}', None),
        (b'{"batchItemFailures": [{"itemIdentifier": null}]}', None),
        (b'{"batchItemFailures": [{"itemId": "m1"}]}', None),
        (b'{"batchItemFailures": [{"itemIdentifier": "unknown"}]}', None),
        (b'{"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "zz"}]}', None),
        (b'{"batchItemFailures": ["m1"]}', None),
    ],
)
def test_item_failures(payload: bytes, failed: set[str] | None) -> None:
    assert item_failures(payload, IDS) == failed
