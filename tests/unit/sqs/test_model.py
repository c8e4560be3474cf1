"""Pure SQS rules: names, URLs, ARNs, queue attributes, message validation (lambdahost.sqs.model)."""

from __future__ import annotations

import base64
import json

import pytest

from lambdahost.errors import ApiError
from lambdahost.sqs import model


def test_urls_and_arns() -> None:
    assert model.queue_url("http://h:1/", "123456789012", "q") == "http://h:1/123456789012/q"
    assert model.name_from_url("http://other:9/123456789012/q", "123456789012") == "q"
    assert model.name_from_url("http://h/999999999999/q", "123456789012") is None
    assert model.name_from_url("http://h/q", "123456789012") is None
    assert model.parse_arn("arn:aws:sqs:us-east-1:123456789012:a.fifo") == (
        "us-east-1",
        "123456789012",
        "a.fifo",
    )
    assert model.parse_arn("arn:aws:sns:us-east-1:123456789012:a") is None


@pytest.mark.parametrize(
    ("name", "fifo_attribute", "fifo"),
    [
        ("ok-name_1", None, False),
        ("a" * 80, None, False),
        ("q.fifo", None, True),
        ("q.fifo", "true", True),
        ("q", "false", False),
    ],
)
def test_valid_queue_names(name: str, fifo_attribute: str | None, fifo: bool) -> None:
    assert model.validate_queue_name(name, fifo_attribute) is fifo


@pytest.mark.parametrize(
    ("name", "fifo_attribute"),
    [
        ("", None),
        ("a" * 81, None),
        ("bad name", None),
        ("q", "true"),
        ("q.fifo", "false"),
        ("a" * 76 + ".fifo", None),
    ],
)
def test_invalid_queue_names(name: str, fifo_attribute: str | None) -> None:
    with pytest.raises(ApiError) as caught:
        model.validate_queue_name(name, fifo_attribute)
    assert caught.value.code == "InvalidParameterValue"


def test_attributes_are_normalised_and_defaults_added() -> None:
    given = {"VisibilityTimeout": "010", "ContentBasedDeduplication": "TRUE", "FifoQueue": "true"}
    stored = model.normalize_attributes(given, True, creating=True)
    assert stored == {"VisibilityTimeout": "10", "ContentBasedDeduplication": "true"}
    effective = model.effective_attributes(stored, True)
    assert effective["VisibilityTimeout"] == "10"
    assert effective["FifoQueue"] == "true"
    assert effective["MaximumMessageSize"] == "1048576"
    assert effective["MessageRetentionPeriod"] == "345600"
    assert "FifoQueue" not in model.effective_attributes({}, False)


@pytest.mark.parametrize(
    ("attributes", "fifo", "code"),
    [
        ({"Bogus": "1"}, False, "InvalidAttributeName"),
        ({"ContentBasedDeduplication": "true"}, False, "InvalidAttributeName"),
        ({"QueueArn": "x"}, False, "InvalidAttributeName"),
        ({"VisibilityTimeout": "43201"}, False, "InvalidAttributeValue"),
        ({"VisibilityTimeout": "ten"}, False, "InvalidAttributeValue"),
        ({"MaximumMessageSize": "1023"}, False, "InvalidAttributeValue"),
        ({"MessageRetentionPeriod": "59"}, False, "InvalidAttributeValue"),
        ({"DelaySeconds": "901"}, False, "InvalidAttributeValue"),
        ({"ReceiveMessageWaitTimeSeconds": "21"}, False, "InvalidAttributeValue"),
        ({"DeduplicationScope": "global"}, True, "InvalidAttributeValue"),
        ({"RedrivePolicy": "not json"}, False, "InvalidParameterValue"),
        ({"RedrivePolicy": '{"maxReceiveCount": 3}'}, False, "InvalidParameterValue"),
        (
            {
                "RedrivePolicy": json.dumps(
                    {
                        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:d",
                        "maxReceiveCount": 0,
                    }
                )
            },
            False,
            "InvalidParameterValue",
        ),
    ],
)
def test_invalid_attributes(attributes: dict[str, str], fifo: bool, code: str) -> None:
    with pytest.raises(ApiError) as caught:
        model.normalize_attributes(attributes, fifo, creating=True)
    assert caught.value.code == code


def test_fifo_attribute_only_at_creation() -> None:
    with pytest.raises(ApiError) as caught:
        model.normalize_attributes({"FifoQueue": "true"}, True, creating=False)
    assert caught.value.message == "Unknown Attribute FifoQueue."


def test_redrive_policy_round_trip_and_removal() -> None:
    policy = {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:d", "maxReceiveCount": "5"}
    stored = model.normalize_attributes({"RedrivePolicy": json.dumps(policy)}, False, creating=True)
    parsed = model.redrive_of(stored)
    assert parsed == model.RedrivePolicy("arn:aws:sqs:us-east-1:123456789012:d", 5)
    assert model.normalize_attributes({"RedrivePolicy": ""}, False, creating=False) == {
        "RedrivePolicy": ""
    }
    assert model.redrive_of({"RedrivePolicy": ""}) is None


def test_first_difference() -> None:
    assert model.first_difference({"A": "1"}, {"A": "1", "B": "2"}) is None
    assert model.first_difference({"A": "1", "B": "3"}, {"A": "1", "B": "2"}) == "B"


def test_attribute_name_selection() -> None:
    assert "QueueArn" in model.select_attribute_names(["All"])
    assert model.select_attribute_names(["QueueArn"]) == {"QueueArn"}
    with pytest.raises(ApiError) as caught:
        model.select_attribute_names(["Nope"])
    assert caught.value.message == "Unknown Attribute Nope."


def test_body_characters() -> None:
    model.check_body("tab\tnew\nline\r \u00e9 \U0001f600")
    with pytest.raises(ApiError) as caught:
        model.check_body("bad\x1bchar")
    assert caught.value.code == "InvalidMessageContents"
    assert "#x1B" in caught.value.message


def test_message_attributes_validation_and_size() -> None:
    blob = base64.b64encode(b"\x00\x01").decode()
    attributes = model.validate_message_attributes(
        {
            "s": {"DataType": "String", "StringValue": "v"},
            "n": {"DataType": "Number.int", "StringValue": "12"},
            "b": {"DataType": "Binary", "BinaryValue": blob},
        }
    )
    assert attributes["b"] == {"DataType": "Binary", "BinaryValue": blob}
    size = model.message_size("body", attributes)
    assert size == 4 + (1 + 6 + 1) + (1 + 10 + 2) + (1 + 6 + 2)


@pytest.mark.parametrize(
    "attributes",
    [
        {"AWS.x": {"DataType": "String", "StringValue": "v"}},
        {"a..b": {"DataType": "String", "StringValue": "v"}},
        {"a": {"DataType": "Text", "StringValue": "v"}},
        {"a": {"DataType": "String", "StringValue": ""}},
        {"a": {"DataType": "Number", "StringValue": "x1"}},
        {"a": {"DataType": "Binary", "BinaryValue": ""}},
        {"a": {"StringValue": "v"}},
        {f"k{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)},
    ],
)
def test_invalid_message_attributes(attributes: dict[str, object]) -> None:
    with pytest.raises(ApiError) as caught:
        model.validate_message_attributes(attributes)
    assert caught.value.code == "InvalidParameterValue"


def test_system_attributes_only_trace_header() -> None:
    trace = {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-abc"}}
    assert model.validate_system_attributes(trace) == trace
    with pytest.raises(ApiError):
        model.validate_system_attributes({"Other": {"DataType": "String", "StringValue": "x"}})


def test_message_attribute_selection() -> None:
    attributes = {
        "a.one": {"DataType": "String", "StringValue": "1"},
        "a.two": {"DataType": "String", "StringValue": "2"},
        "b": {"DataType": "String", "StringValue": "3"},
    }
    assert set(model.select_message_attributes(attributes, ["All"])) == {"a.one", "a.two", "b"}
    assert set(model.select_message_attributes(attributes, [".*"])) == {"a.one", "a.two", "b"}
    assert set(model.select_message_attributes(attributes, ["a.*"])) == {"a.one", "a.two"}
    assert set(model.select_message_attributes(attributes, ["b", "zz"])) == {"b"}
    assert model.select_message_attributes(attributes, []) == {}


def test_system_attribute_selection() -> None:
    values = {"SenderId": "1", "SentTimestamp": "2"}
    assert model.select_system_attributes(values, ["All"]) == values
    assert model.select_system_attributes(values, ["SenderId", "Nope"]) == {"SenderId": "1"}
    assert model.select_system_attributes(values, []) == {}


@pytest.mark.parametrize(
    ("ids", "code"),
    [
        ([], "EmptyBatchRequest"),
        ([str(i) for i in range(11)], "TooManyEntriesInBatchRequest"),
        (["ok", "bad id"], "InvalidBatchEntryId"),
        (["a", "a"], "BatchEntryIdsNotDistinct"),
    ],
)
def test_batch_id_checks(ids: list[str], code: str) -> None:
    with pytest.raises(ApiError) as caught:
        model.validate_batch_ids(list(ids), "SendMessageBatchRequestEntry")
    assert caught.value.code == code
