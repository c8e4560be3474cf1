"""Pure pieces of the per-environment APIs: error documents, telemetry subscriptions,
the HTTP response rendering."""

from __future__ import annotations

import json

import pytest

from lambdahost.sandbox.rapi.http import render
from lambdahost.sandbox.rapi.server import error_payload
from lambdahost.sandbox.rapi.telemetry import SubscriptionError, parse_subscription


def test_error_type_prefers_the_header_then_the_body() -> None:
    body = b'{"errorMessage": "bad", "errorType": "ValueError", "stackTrace": []}'
    assert error_payload(body, None) == (body, "ValueError")
    assert error_payload(body, "Custom.Error") == (body, "Custom.Error")
    assert error_payload(b'{"errorMessage": "x"}', None)[1] == "Unhandled"


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b""])
def test_a_body_that_is_not_an_object_is_replaced(body: bytes) -> None:
    payload, error_type = error_payload(body, None)
    doc = json.loads(payload)
    assert error_type == doc["errorType"] == "Runtime.Unknown"
    assert doc["errorMessage"].startswith("The runtime reported an error whose body is not")
    assert error_payload(body, "My.Error")[1] == "My.Error"


def test_subscription_defaults_and_sandbox_host() -> None:
    sub = parse_subscription(
        "ext",
        {
            "schemaVersion": "2022-07-01",
            "types": ["platform", "function"],
            "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:4243/tel"},
        },
    )
    assert (sub.host, sub.port, sub.path) == ("127.0.0.1", 4243, "/tel")
    assert sub.types == {"platform", "function"}
    assert (sub.buffering.max_items, sub.buffering.max_bytes, sub.buffering.timeout_ms) == (
        1000,
        262144,
        1000,
    )


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"types": [], "destination": {"protocol": "HTTP", "URI": "http://h:1"}},
        {"types": ["logs"], "destination": {"protocol": "HTTP", "URI": "http://h:1"}},
        {"types": ["platform"], "destination": {"protocol": "TCP", "port": 1}},
        {"types": ["platform"], "destination": {"protocol": "HTTP", "URI": "https://h"}},
        {
            "types": ["platform"],
            "buffering": {"timeoutMs": 5},
            "destination": {"protocol": "HTTP", "URI": "http://h:1"},
        },
    ],
)
def test_invalid_subscriptions(body: object) -> None:
    with pytest.raises(SubscriptionError):
        parse_subscription("ext", body)


def test_render_response() -> None:
    raw = render(202, b'{"status":"OK"}', {"Content-Type": "application/json"})
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split(b"\r\n") == [
        b"HTTP/1.1 202 Accepted",
        b"Content-Type: application/json",
        b"Content-Length: 15",
    ]
    assert body == b'{"status":"OK"}'
    assert b"Connection: close" in render(400, b"", keep_alive=False)
