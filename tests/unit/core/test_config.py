from __future__ import annotations

from typing import Any

import pytest

from lambdahost.core import config as cfg
from lambdahost.errors import ApiError

BASE: dict[str, Any] = {
    "FunctionName": "f",
    "Runtime": "python3.12",
    "Role": "arn:aws:iam::123456789012:role/r",
    "Handler": "app.handler",
}


def make(**overrides: Any) -> dict[str, Any]:
    return cfg.new_config({**BASE, **overrides}, now="t", code_sha256="s", code_size=1)


def test_defaults() -> None:
    config = make()
    assert config["Timeout"] == 3 and config["MemorySize"] == 128
    assert config["EphemeralStorage"] == {"Size": 512}
    assert config["Architectures"] == ["x86_64"]
    assert config["State"] == "Active"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"Timeout": 0}, "ValidationException"),
        ({"Timeout": 901}, "ValidationException"),
        ({"MemorySize": 127}, "ValidationException"),
        ({"MemorySize": 10241}, "ValidationException"),
        ({"Runtime": "nope"}, "ValidationException"),
        ({"Runtime": "python3.7"}, "InvalidParameterValueException"),
        ({"Runtime": "java21"}, "InvalidParameterValueException"),
        ({"Handler": "has space"}, "ValidationException"),
        ({"Role": "arn:aws:iam::1:role/x"}, "ValidationException"),
        ({"Environment": {"Variables": {"1bad": "x"}}}, "ValidationException"),
        ({"Environment": {"Variables": {"AWS_LAMBDA_X": "x"}}}, "InvalidParameterValueException"),
        ({"EphemeralStorage": {"Size": 100}}, "ValidationException"),
        ({"Architectures": ["x86_64", "arm64"]}, "ValidationException"),
        ({"Runtime": None}, "InvalidParameterValueException"),
        ({"PackageType": "Image"}, "InvalidParameterValueException"),
    ],
)
def test_rejections(overrides: dict[str, Any], code: str) -> None:
    with pytest.raises(ApiError) as exc:
        make(**overrides)
    assert exc.value.code == code


def test_update_keeps_other_fields() -> None:
    config = make(Environment={"Variables": {"AA": "1"}})
    updated = cfg.updated_config(config, {"Timeout": 30}, now="t2")
    assert updated["Timeout"] == 30
    assert updated["Environment"] == {"Variables": {"AA": "1"}}
    assert updated["LastModified"] == "t2"


def test_publishable_content_ignores_timestamps() -> None:
    a = make()
    b = dict(a, LastModified="other")
    assert cfg.same_publishable_content(a, b)
    assert not cfg.same_publishable_content(a, dict(a, Timeout=9))
