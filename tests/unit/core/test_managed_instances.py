"""A function's CapacityProviderConfig and its scaling config: validation and defaults."""

from __future__ import annotations

from typing import Any

import pytest

from lambdahost.core import config as cfg
from lambdahost.core import managed_instances as lmi
from lambdahost.errors import ApiError

ARN = "arn:aws:lambda:us-east-1:123456789012:capacity-provider:cp"
BASE: dict[str, Any] = {
    "FunctionName": "f",
    "Runtime": "python3.13",
    "Role": "arn:aws:iam::123456789012:role/r",
    "Handler": "app.handler",
}


def cpc(**fields: Any) -> dict[str, Any]:
    return {lmi.LMI: {"CapacityProviderArn": ARN, **fields}}


def make(**overrides: Any) -> dict[str, Any]:
    body = {**BASE, "CapacityProviderConfig": cpc(), **overrides}
    return cfg.new_config(body, now="t", code_sha256="s", code_size=1)


def test_defaults_of_a_provider_function() -> None:
    config = make()
    assert config["MemorySize"] == 2048
    assert config["CapacityProviderConfig"] == {
        lmi.LMI: {
            "CapacityProviderArn": ARN,
            "ExecutionEnvironmentMemoryGiBPerVCpu": 2.0,
            "PerExecutionEnvironmentMaxConcurrency": 16,  # Python: 16 per vCPU, 1 vCPU
        }
    }
    assert config["LoggingConfig"] == {
        "LogFormat": "JSON",
        "ApplicationLogLevel": "INFO",
        "SystemLogLevel": "INFO",
    }
    assert config["State"] == "ActiveNonInvocable" and "SnapStart" not in config
    assert lmi.provider_arn(config) == ARN and lmi.config_vcpus(config) == 1


def test_default_concurrency_follows_runtime_and_vcpus() -> None:
    node = make(Runtime="nodejs22.x", MemorySize=8192, CapacityProviderConfig=cpc())
    assert node["CapacityProviderConfig"][lmi.LMI]["PerExecutionEnvironmentMaxConcurrency"] == 256
    given = make(CapacityProviderConfig=cpc(PerExecutionEnvironmentMaxConcurrency=3))
    assert given["CapacityProviderConfig"][lmi.LMI]["PerExecutionEnvironmentMaxConcurrency"] == 3
    ratio = make(
        MemorySize=8192, CapacityProviderConfig=cpc(ExecutionEnvironmentMemoryGiBPerVCpu=8)
    )
    assert lmi.config_vcpus(ratio) == 1


def test_function_without_provider_is_unchanged() -> None:
    body = {**BASE, "Runtime": "python3.12"}
    config = cfg.new_config(body, now="t", code_sha256="s", code_size=1)
    assert "CapacityProviderConfig" not in config and config["State"] == "Active"
    assert config["MemorySize"] == 128


@pytest.mark.parametrize(
    ("overrides", "code", "words"),
    [
        ({"CapacityProviderConfig": {}}, "ValidationException", "Member must not be null"),
        (
            {"CapacityProviderConfig": {lmi.LMI: {}}},
            "ValidationException",
            "capacityProviderArn' failed to satisfy constraint: Member must not be null",
        ),
        (
            {"CapacityProviderConfig": {lmi.LMI: {"CapacityProviderArn": "arn:aws:lambda:x"}}},
            "ValidationException",
            "Member must satisfy regular expression pattern",
        ),
        (
            {"CapacityProviderConfig": cpc(PerExecutionEnvironmentMaxConcurrency=1601)},
            "ValidationException",
            "less than or equal to 1600",
        ),
        (
            {"CapacityProviderConfig": cpc(PerExecutionEnvironmentMaxConcurrency=0)},
            "ValidationException",
            "greater than or equal to 1",
        ),
        (
            {"CapacityProviderConfig": cpc(ExecutionEnvironmentMemoryGiBPerVCpu=8.5)},
            "ValidationException",
            "less than or equal to 8.0",
        ),
        ({"MemorySize": 1024}, "InvalidParameterValueException", "the minimum is 2048 MB"),
        (
            {
                "MemorySize": 4096,
                "CapacityProviderConfig": cpc(ExecutionEnvironmentMemoryGiBPerVCpu=8),
            },
            "InvalidParameterValueException",
            "less than 1 vCPU",
        ),
        ({"Runtime": "python3.12"}, "InvalidParameterValueException", "not supported"),
        (
            {"LoggingConfig": {"LogFormat": "Text"}},
            "InvalidParameterValueException",
            'LogFormat is set to "Text"',
        ),
        (
            {"SnapStart": {"ApplyOn": "PublishedVersions"}},
            "InvalidParameterValueException",
            "SnapStart",
        ),
    ],
)
def test_bad_provider_configurations(overrides: dict[str, Any], code: str, words: str) -> None:
    with pytest.raises(ApiError) as exc:
        make(**overrides)
    assert exc.value.code == code
    assert words in exc.value.message


def test_update_keeps_rules_and_refuses_a_default_function() -> None:
    current = make()
    updated = cfg.updated_config(
        current, {"CapacityProviderConfig": cpc(PerExecutionEnvironmentMaxConcurrency=8)}, now="u"
    )
    assert updated["CapacityProviderConfig"][lmi.LMI]["PerExecutionEnvironmentMaxConcurrency"] == 8
    memory = cfg.updated_config(current, {"MemorySize": 4096}, now="u")
    assert lmi.config_vcpus(memory) == 2
    with pytest.raises(ApiError, match="the minimum is 2048 MB"):
        cfg.updated_config(current, {"MemorySize": 1024}, now="u")
    with pytest.raises(ApiError, match="not supported"):
        cfg.updated_config(current, {"Runtime": "python3.12"}, now="u")
    default = cfg.new_config({**BASE}, now="t", code_sha256="s", code_size=1)
    with pytest.raises(ApiError) as exc:
        cfg.updated_config(default, {"CapacityProviderConfig": cpc()}, now="u")
    assert exc.value.code == "InvalidParameterValueException"
    assert (
        exc.value.message == "CapacityProviderConfig isn't supported for Lambda Default functions."
    )


@pytest.mark.parametrize(
    ("qualifier", "ok"),
    [("1", True), ("42", True), ("$LATEST.PUBLISHED", True), ("$LATEST", False), ("live", False)],
)
def test_scaling_qualifier(qualifier: str, ok: bool) -> None:
    if ok:
        assert lmi.validate_published_qualifier(qualifier) == qualifier
        return
    with pytest.raises(ApiError) as exc:
        lmi.validate_published_qualifier(qualifier)
    assert exc.value.code == "ValidationException"
    assert r"(\$LATEST\.PUBLISHED|[0-9]+)" in exc.value.message


def test_scaling_config_bounds() -> None:
    body = {"FunctionScalingConfig": {"MinExecutionEnvironments": 1, "MaxExecutionEnvironments": 4}}
    assert lmi.parse_scaling_config(body) == (1, 4)
    assert lmi.parse_scaling_config({}) == (None, None)
    with pytest.raises(ApiError, match="less than or equal to MaxExecutionEnvironments"):
        lmi.parse_scaling_config(
            {
                "FunctionScalingConfig": {
                    "MinExecutionEnvironments": 5,
                    "MaxExecutionEnvironments": 4,
                }
            }
        )
    with pytest.raises(ApiError, match="less than or equal to 15000"):
        lmi.parse_scaling_config({"FunctionScalingConfig": {"MaxExecutionEnvironments": 15001}})
