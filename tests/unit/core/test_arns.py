from __future__ import annotations

import pytest

from lambdahost.core.arns import (
    ArnFactory,
    FunctionRef,
    combine_qualifier,
    is_version,
    parse_function_name,
    parse_resource_function_arn,
    validate_alias_name,
)
from lambdahost.errors import ApiError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("fn", FunctionRef("fn", None)),
        ("fn:prod", FunctionRef("fn", "prod")),
        ("fn:$LATEST", FunctionRef("fn", "$LATEST")),
        ("123456789012:function:fn", FunctionRef("fn", None)),
        ("123456789012:function:fn:3", FunctionRef("fn", "3")),
        ("arn:aws:lambda:us-east-1:123456789012:function:fn", FunctionRef("fn", None)),
        (
            "arn:aws:lambda:eu-west-2:123456789012:function:my-fn_1:live",
            FunctionRef("my-fn_1", "live"),
        ),
    ],
)
def test_parse_function_name_forms(value: str, expected: FunctionRef) -> None:
    assert parse_function_name(value) == expected


@pytest.mark.parametrize("value", ["", "bad name", "fn!", "a" * 65, "function:fn", "fn:a:b"])
def test_parse_function_name_rejects(value: str) -> None:
    with pytest.raises(ApiError) as exc:
        parse_function_name(value)
    assert exc.value.code == "ValidationException"
    assert "failed to satisfy constraint" in exc.value.message


def test_combine_qualifier() -> None:
    assert combine_qualifier(FunctionRef("f", None), "1") == "1"
    assert combine_qualifier(FunctionRef("f", "1"), None) == "1"
    assert combine_qualifier(FunctionRef("f", "1"), "1") == "1"
    with pytest.raises(ApiError) as exc:
        combine_qualifier(FunctionRef("f", "1"), "2")
    assert exc.value.code == "InvalidParameterValueException"


def test_versions_and_aliases() -> None:
    assert is_version("$LATEST") and is_version("12") and not is_version("prod")
    assert validate_alias_name("prod") == "prod"
    with pytest.raises(ApiError):
        validate_alias_name("123")


def test_arn_factory_and_resource_arns() -> None:
    arns = ArnFactory("us-east-1", "123456789012")
    assert arns.function("f") == "arn:aws:lambda:us-east-1:123456789012:function:f"
    assert arns.function("f", "2").endswith(":function:f:2")
    assert parse_resource_function_arn(arns.function("f")) == FunctionRef("f", None)
    with pytest.raises(ApiError):
        parse_resource_function_arn("f")
