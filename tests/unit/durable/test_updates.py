"""Parsing OperationUpdates: model constraints and the service's payload limits."""

from __future__ import annotations

from typing import Any

import pytest

from lambdahost.durable.model import Action, OpType
from lambdahost.durable.updates import parse_updates
from lambdahost.errors import ApiError


def _one(**fields: Any) -> dict[str, Any]:
    return {"Id": "op-1", "Type": "STEP", "Action": "START", **fields}


def test_a_full_update_is_parsed() -> None:
    (update,) = parse_updates(
        [
            {
                "Id": "i1",
                "Type": "CHAINED_INVOKE",
                "Action": "START",
                "ParentId": "p1",
                "Name": "call it",
                "SubType": "ChainedInvoke",
                "Payload": "{}",
                "ChainedInvokeOptions": {"FunctionName": "other:1", "TenantId": "t"},
            }
        ]
    )
    assert update.type is OpType.CHAINED_INVOKE and update.action is Action.START
    assert (update.parent_id, update.name, update.sub_type) == ("p1", "call it", "ChainedInvoke")
    assert (update.invoke_function, update.tenant_id) == ("other:1", "t")


@pytest.mark.parametrize(
    ("raw", "code", "fragment"),
    [
        (_one(Id="has space"), "ValidationException", "updates.1.member.id"),
        (_one(Type="SLEEP"), "ValidationException", "enum value set"),
        (_one(Action="GO"), "ValidationException", "updates.1.member.action"),
        (_one(SubType="x" * 33), "ValidationException", "length less than or equal to 32"),
        ({"Id": "x", "Type": "STEP"}, "ValidationException", "must not be null"),
        (
            _one(Action="RETRY", StepOptions={"NextAttemptDelaySeconds": 0}),
            "ValidationException",
            "greater than or equal to 1",
        ),
        (
            _one(Action="SUCCEED", Payload="x" * 262_145),
            "InvalidParameterValueException",
            "STEP output payload size must be less than or equal to 262144 bytes.",
        ),
        (
            {"Id": "i", "Type": "CHAINED_INVOKE", "Action": "START", "Payload": "x" * 1_048_577},
            "InvalidParameterValueException",
            "CHAINED_INVOKE input payload size must be less than or equal to 1048576 bytes.",
        ),
        (
            {"Id": "e", "Type": "EXECUTION", "Action": "SUCCEED", "Payload": "x" * 6_291_457},
            "ValidationException",
            "Member must have length less than or equal to 6291456",
        ),
    ],
)
def test_rejections_use_aws_wording(raw: dict[str, Any], code: str, fragment: str) -> None:
    with pytest.raises(ApiError) as exc:
        parse_updates([raw])
    assert exc.value.code == code
    assert fragment in exc.value.message


def test_payload_limits_count_utf8_bytes() -> None:
    text = "é" * 131_073  # 262146 bytes, 131073 characters
    with pytest.raises(ApiError):
        parse_updates([_one(Action="SUCCEED", Payload=text)])
    assert parse_updates([_one(Action="SUCCEED", Payload="é" * 131_072)])
