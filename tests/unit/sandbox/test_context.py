"""The in-env context object and log formats (lambdahost.sandbox.context)."""

from __future__ import annotations

import logging
import re
import time

from lambdahost.sandbox.context import (
    LambdaContext,
    LambdaJsonFormatter,
    LambdaTextFormatter,
    parse_client_context,
)


def test_client_context_shape() -> None:
    cc = parse_client_context(
        '{"custom": {"x": 1}, "env": {"e": "v"}, '
        '"client": {"installation_id": "i-1", "app_title": "t"}}'
    )
    assert cc is not None
    assert cc.custom == {"x": 1} and cc.env == {"e": "v"}
    assert cc.client is not None and cc.client.installation_id == "i-1"
    assert cc.client.app_title == "t" and cc.client.app_package_name is None
    assert parse_client_context(None) is None
    assert parse_client_context("") is None


def test_remaining_time() -> None:
    out: list[str] = []
    ctx = LambdaContext("r", "arn", int(time.time() * 1000) + 3000, None, out.append)
    assert 2900 <= ctx.get_remaining_time_in_millis() <= 3000
    past = LambdaContext("r", "arn", 0, None, out.append)
    assert past.get_remaining_time_in_millis() == 0
    ctx.log("hi\n")
    assert out == ["hi\n"]
    assert ctx.identity is None


def _record(msg: str) -> logging.LogRecord:
    rec = logging.LogRecord("root", logging.INFO, __file__, 1, msg, None, None)
    rec.created = 1_700_000_000.5
    rec.aws_request_id = "req-9"
    return rec


def test_text_format() -> None:
    line = LambdaTextFormatter().format(_record("hello"))
    assert line == "[INFO]\t2023-11-14T22:13:20.500Z\treq-9\thello"


def test_json_format() -> None:
    line = LambdaJsonFormatter().format(_record("hello"))
    assert re.fullmatch(
        r'\{"timestamp": "2023-11-14T22:13:20.500Z", "level": "INFO", '
        r'"message": "hello", "logger": "root", "requestId": "req-9"\}',
        line,
    )
