"""Lambda event filtering patterns (lambdahost.esm.filtering)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdahost.esm.filtering import (
    InvalidPattern,
    matches,
    matches_any,
    parse_pattern,
    sqs_filter_view,
)

EVENT: dict[str, Any] = {
    "body": {
        "kind": "Order",
        "price": 15,
        "region": "us-west-2",
        "file": "pic.PNG",
        "tags": ["a", "b"],
        "customer": {"tier": "gold", "id": None},
        "items": [{"sku": "x1"}, {"sku": "y2"}],
        "empty": "",
    },
    "attributes": {"ApproximateReceiveCount": "1"},
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"body": {"kind": ["Order"]}}, True),
        ({"body": {"kind": ["order"]}}, False),
        ({"body": {"kind": ["Refund", "Order"]}}, True),
        ({"body": {"kind": [{"equals-ignore-case": "order"}]}}, True),
        ({"body": {"region": [{"prefix": "us-"}]}}, True),
        ({"body": {"region": [{"prefix": "eu-"}]}}, False),
        ({"body": {"file": [{"suffix": ".png"}]}}, False),
        ({"body": {"file": [{"suffix": {"equals-ignore-case": ".png"}}]}}, True),
        ({"body": {"kind": [{"anything-but": ["Refund"]}]}}, True),
        ({"body": {"kind": [{"anything-but": "Order"}]}}, False),
        ({"body": {"kind": [{"anything-but": {"prefix": "Ord"}}]}}, False),
        ({"body": {"missing": [{"anything-but": "x"}]}}, False),
        ({"body": {"price": [{"numeric": [">", 10, "<=", 20]}]}}, True),
        ({"body": {"price": [{"numeric": ["=", 15]}]}}, True),
        ({"body": {"price": [{"numeric": ["<", 15]}]}}, False),
        ({"body": {"price": [15]}}, True),
        ({"body": {"price": ["15"]}}, False),
        ({"body": {"kind": [{"exists": True}]}}, True),
        ({"body": {"nope": [{"exists": False}]}}, True),
        ({"body": {"kind": [{"exists": False}]}}, False),
        ({"body": {"customer": {"tier": ["gold"]}}}, True),
        ({"body": {"customer": {"id": [None]}}}, True),
        ({"body": {"customer": {"vip": [{"exists": False}]}}}, True),
        ({"body": {"empty": [""]}}, True),
        ({"body": {"tags": ["b"]}}, True),
        ({"body": {"items": {"sku": ["y2"]}}}, True),
        ({"body": {"kind": ["Order"], "price": [99]}}, False),
        ({"$or": [{"body": {"kind": ["Refund"]}}, {"body": {"price": [15]}}]}, True),
        ({"$or": [{"body": {"kind": ["Refund"]}}, {"body": {"price": [16]}}]}, False),
        ({"attributes": {"ApproximateReceiveCount": ["1"]}}, True),
        ({}, True),
    ],
)
def test_matching(pattern: dict[str, Any], expected: bool) -> None:
    parsed = parse_pattern(json.dumps(pattern))
    assert matches(parsed, EVENT) is expected


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1]",
        '{"body": "x"}',
        '{"body": {"k": []}}',
        '{"body": {"k": [{"prefix": 1}]}}',
        '{"body": {"k": [{"numeric": [">", "a"]}]}}',
        '{"body": {"k": [{"numeric": ["~", 1]}]}}',
        '{"body": {"k": [{"exists": "yes"}]}}',
        '{"body": {"k": [{"unknown": 1}]}}',
        '{"body": {"k": [{"prefix": "a", "suffix": "b"}]}}',
        '{"$or": [{"a": ["b"]}]}',
    ],
)
def test_invalid_patterns(text: str) -> None:
    with pytest.raises(InvalidPattern):
        parse_pattern(text)


def test_sqs_body_is_parsed_only_when_it_is_json_object_or_array() -> None:
    plain = {"body": "hello"}
    assert sqs_filter_view(plain) == plain
    assert sqs_filter_view({"body": "42"})["body"] == "42"
    assert sqs_filter_view({"body": '{"a": 1}'})["body"] == {"a": 1}
    keep_json = parse_pattern('{"body": {"a": [1]}}')
    keep_plain = parse_pattern('{"body": ["hello"]}')
    assert matches(keep_plain, sqs_filter_view(plain))
    assert not matches(keep_json, sqs_filter_view(plain))


def test_filters_are_ored() -> None:
    a = parse_pattern('{"body": {"k": ["a"]}}')
    b = parse_pattern('{"body": {"k": ["b"]}}')
    assert matches_any([], {"body": {}})
    assert matches_any([a, b], {"body": {"k": "b"}})
    assert not matches_any([a, b], {"body": {"k": "c"}})
