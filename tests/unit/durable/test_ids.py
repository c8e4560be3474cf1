"""ARNs, names, callback ids and checkpoint tokens."""

from __future__ import annotations

import pytest

from lambdahost.durable.ids import (
    ExecutionArn,
    arn_tag,
    decode_token,
    encode_token,
    parse_arn,
    validate_callback_id,
    validate_name,
)
from lambdahost.errors import ApiError

ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST/durable-execution/run-1/abc"


def test_arn_round_trip_and_execution_id_is_the_last_segment() -> None:
    parsed = parse_arn(ARN)
    assert parsed == ExecutionArn(
        "aws", "us-east-1", "123456789012", "fn", "$LATEST", "run-1", "abc"
    )
    assert str(parsed) == ARN
    assert ARN.split("/")[-1] == parsed.exec_id


@pytest.mark.parametrize(
    "value",
    [ARN.replace("$LATEST", "live"), ARN.replace("/abc", ""), "arn:aws:lambda:x", ""],
)
def test_bad_arns(value: str) -> None:
    with pytest.raises(ApiError) as exc:
        parse_arn(value)
    assert exc.value.code == "ValidationException"


def test_names_and_callback_ids() -> None:
    assert validate_name("order-17_b") == "order-17_b"
    for bad in ("", "a b", "x" * 65):
        with pytest.raises(ApiError):
            validate_name(bad)
    assert validate_callback_id("abc123") == "abc123"
    with pytest.raises(ApiError):
        validate_callback_id("not valid!")


def test_tokens_use_the_base64_alphabet_and_bind_the_execution() -> None:
    token = encode_token(3, ARN, 4, 5)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
    claims = decode_token(token)
    assert claims is not None
    assert (claims.boot, claims.invocation, claims.seq) == (3, 4, 5)
    assert claims.tag == arn_tag(ARN) != arn_tag(ARN + "x")
    assert decode_token("***") is None
    assert decode_token("QUJD") is None
