"""Lambda Managed Instances: a function's ``CapacityProviderConfig`` and its scaling config.

Pure validation and defaults for the function side of capacity providers (the providers
themselves are ``lambdahost.app.capacity``). Ranges and patterns are the botocore model's;
the rules below come from the AWS Developer Guide ("Lambda Managed Instances"):

- supported runtimes: Python 3.13+, Node.js 22+, Java 21+, .NET 8+, ``provided.al2023``;
- "The minimum supported function size is 2GB and 1 vCPU" (best practices page), so
  ``MemorySize`` defaults to 2048 and must give at least one vCPU at the chosen
  ``ExecutionEnvironmentMemoryGiBPerVCpu`` (default 2.0);
- ``PerExecutionEnvironmentMaxConcurrency`` defaults per runtime, per vCPU: Python 16,
  Node.js 64, Java and .NET 32 (runtime pages); lambdahost stores the resulting number;
- functions on a provider always log in JSON (Python runtime page); their configuration has
  no SnapStart, and lambdahost refuses a request for it;
- a function that is not on a provider cannot be moved onto one by UpdateFunctionConfiguration.

An execution environment takes ``MemorySize / 1024 / ExecutionEnvironmentMemoryGiBPerVCpu``
vCPUs of its provider (``env_vcpus``), kept exact as a ``Fraction``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from lambdahost.core.arns import check_range, constraint_error
from lambdahost.errors import ApiError, invalid_parameter, validation_error

LMI = "LambdaManagedInstancesCapacityProviderConfig"
CAPACITY_PROVIDER_ARN_PATTERN = (
    r"arn:aws[a-zA-Z-]*:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:"
    r"\d{12}:capacity-provider:[a-zA-Z0-9-_]+"
)
_ARN_RE = re.compile(CAPACITY_PROVIDER_ARN_PATTERN)
MIN_MEMORY_MB = 2048
DEFAULT_GIB_PER_VCPU = 2.0
MAX_PER_ENV_CONCURRENCY = 1600
# Default PerExecutionEnvironmentMaxConcurrency per vCPU (AWS runtime pages); provided.al2023
# is not documented: lambdahost uses Python's figure.
_PER_VCPU_DEFAULT = {"python": 16, "nodejs": 64, "java": 32, "dotnet": 32, "provided": 16}
SUPPORTED_RUNTIMES = (
    "python3.13",
    "python3.14",
    "python3.15",
    "nodejs22.x",
    "nodejs24.x",
    "nodejs26.x",
    "java21",
    "java25",
    "dotnet8",
    "dotnet10",
    "provided.al2023",
)
PUBLISHED_QUALIFIER_PATTERN = r"(\$LATEST\.PUBLISHED|[0-9]+)"
_PUBLISHED_QUALIFIER_RE = re.compile(PUBLISHED_QUALIFIER_PATTERN)
MAX_SCALING_ENVS = 15000
_MEMBER = "capacityProviderConfig.lambdaManagedInstancesCapacityProviderConfig"


def lmi_config(config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The stored LambdaManagedInstancesCapacityProviderConfig of a document, if any."""
    found = (config.get("CapacityProviderConfig") or {}).get(LMI)
    return dict(found) if isinstance(found, Mapping) else None


def provider_arn(config: Mapping[str, Any]) -> str | None:
    found = lmi_config(config)
    return str(found["CapacityProviderArn"]) if found else None


def env_vcpus(memory_mb: int, gib_per_vcpu: float) -> Fraction:
    """vCPUs one execution environment takes: MemorySize / 1024 / GiB-per-vCPU."""
    return Fraction(memory_mb, 1024) / Fraction(gib_per_vcpu)


def config_vcpus(config: Mapping[str, Any]) -> Fraction:
    found = lmi_config(config) or {}
    ratio = float(found.get("ExecutionEnvironmentMemoryGiBPerVCpu", DEFAULT_GIB_PER_VCPU))
    return env_vcpus(int(config.get("MemorySize", MIN_MEMORY_MB)), ratio)


def _not_null(member: str) -> ApiError:
    return validation_error(
        f"1 validation error detected: Value null at '{member}' failed to satisfy "
        "constraint: Member must not be null"
    )


def _number(value: Any, member: str, low: float, high: float, *, integer: bool) -> Any:
    numeric = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, numeric):
        raise constraint_error(value, member, "Member must be a number")
    check_range(value, member, low, high)
    return value


def parse_capacity_provider_config(value: Any) -> dict[str, Any]:
    """Syntax and ranges of a requested CapacityProviderConfig (defaults not applied)."""
    if not isinstance(value, Mapping):
        raise invalid_parameter("CapacityProviderConfig must be an object.")
    inner = value.get(LMI)
    if inner is None:
        raise _not_null("capacityProviderConfig.lambdaManagedInstancesCapacityProviderConfig")
    if not isinstance(inner, Mapping):
        raise invalid_parameter(f"{LMI} must be an object.")
    arn = inner.get("CapacityProviderArn")
    if arn is None:
        raise _not_null(f"{_MEMBER}.capacityProviderArn")
    if not isinstance(arn, str) or not 1 <= len(arn) <= 140 or not _ARN_RE.fullmatch(arn):
        raise constraint_error(
            arn,
            f"{_MEMBER}.capacityProviderArn",
            f"Member must satisfy regular expression pattern: {CAPACITY_PROVIDER_ARN_PATTERN}",
        )
    result: dict[str, Any] = {"CapacityProviderArn": arn}
    if inner.get("PerExecutionEnvironmentMaxConcurrency") is not None:
        result["PerExecutionEnvironmentMaxConcurrency"] = _number(
            inner["PerExecutionEnvironmentMaxConcurrency"],
            f"{_MEMBER}.perExecutionEnvironmentMaxConcurrency",
            1,
            MAX_PER_ENV_CONCURRENCY,
            integer=True,
        )
    if inner.get("ExecutionEnvironmentMemoryGiBPerVCpu") is not None:
        result["ExecutionEnvironmentMemoryGiBPerVCpu"] = float(
            _number(
                inner["ExecutionEnvironmentMemoryGiBPerVCpu"],
                f"{_MEMBER}.executionEnvironmentMemoryGiBPerVCpu",
                2.0,
                8.0,
                integer=False,
            )
        )
    return result


def _runtime_family(runtime: str) -> str:
    for family in _PER_VCPU_DEFAULT:
        if runtime.startswith(family):
            return family
    return "provided"


def default_concurrency(runtime: str, vcpus: Fraction) -> int:
    """The runtime's default PerExecutionEnvironmentMaxConcurrency for ``vcpus`` vCPUs."""
    per_vcpu = _PER_VCPU_DEFAULT[_runtime_family(runtime)]
    return max(1, min(MAX_PER_ENV_CONCURRENCY, int(per_vcpu * vcpus)))


def check_request(body: Mapping[str, Any]) -> None:
    """What a request for a provider function may not ask for: Text logs (such functions log
    in JSON) and SnapStart."""
    logging = body.get("LoggingConfig")
    if isinstance(logging, Mapping) and logging.get("LogFormat") == "Text":
        raise invalid_parameter(
            'LogLevel is not supported when LogFormat is set to "Text". Remove LogLevel from '
            'your request or change the LogFormat to "JSON" and try again.'
        )
    snap_start = body.get("SnapStart")
    if isinstance(snap_start, Mapping) and snap_start.get("ApplyOn", "None") != "None":
        raise invalid_parameter(
            "SnapStart isn't supported for functions that use a capacity provider."
        )


def check_function(config: Mapping[str, Any]) -> Fraction:
    """The rules tying a provider function's runtime and memory together; its env vCPUs."""
    runtime = str(config.get("Runtime") or "")
    if runtime not in SUPPORTED_RUNTIMES:
        raise invalid_parameter(
            f"The runtime {runtime} is not supported for functions that use a capacity "
            f"provider. Supported runtimes: {', '.join(SUPPORTED_RUNTIMES)}."
        )
    memory = int(config["MemorySize"])
    if memory < MIN_MEMORY_MB:
        raise invalid_parameter(
            f"MemorySize {memory} is not supported for functions that use a capacity provider: "
            f"the minimum is {MIN_MEMORY_MB} MB."
        )
    ratio = float((lmi_config(config) or {}).get("ExecutionEnvironmentMemoryGiBPerVCpu", 2.0))
    vcpus = env_vcpus(memory, ratio)
    if vcpus < 1:
        raise invalid_parameter(
            f"MemorySize {memory} gives less than 1 vCPU at ExecutionEnvironmentMemoryGiBPerVCpu "
            f"{ratio:g}: use at least {int(ratio * 1024)} MB or a lower ratio."
        )
    return vcpus


def apply_to_config(config: dict[str, Any], requested: Mapping[str, Any]) -> None:
    """Store ``requested`` (from ``parse_capacity_provider_config``) with its defaults in a
    function document whose other fields are already validated, then check the rules."""
    ratio = float(requested.get("ExecutionEnvironmentMemoryGiBPerVCpu", DEFAULT_GIB_PER_VCPU))
    stored: dict[str, Any] = {
        "CapacityProviderArn": requested["CapacityProviderArn"],
        "ExecutionEnvironmentMemoryGiBPerVCpu": ratio,
    }
    config["CapacityProviderConfig"] = {LMI: stored}
    vcpus = check_function(config)
    stored["PerExecutionEnvironmentMaxConcurrency"] = requested.get(
        "PerExecutionEnvironmentMaxConcurrency",
        default_concurrency(str(config["Runtime"]), vcpus),
    )
    logging = dict(config.get("LoggingConfig") or {})
    if logging.get("LogFormat") != "JSON":
        logging["LogFormat"] = "JSON"
    logging.setdefault("ApplicationLogLevel", "INFO")
    logging.setdefault("SystemLogLevel", "INFO")
    config["LoggingConfig"] = logging
    config.pop("SnapStart", None)  # not part of a Managed Instances configuration


def check_update(current: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The parsed CapacityProviderConfig of an UpdateFunctionConfiguration, or None.

    A function created without a capacity provider cannot be given one."""
    if body.get("CapacityProviderConfig") is None:
        return None
    if lmi_config(current) is None:
        if isinstance(body["CapacityProviderConfig"], Mapping) and (
            body["CapacityProviderConfig"].get(LMI) is None
        ):
            raise _not_null("capacityProviderConfig.lambdaManagedInstancesCapacityProviderConfig")
        raise invalid_parameter(
            "CapacityProviderConfig isn't supported for Lambda Default functions."
        )
    return parse_capacity_provider_config(body["CapacityProviderConfig"])


def validate_published_qualifier(qualifier: str | None) -> str:
    """Qualifier of Put/GetFunctionScalingConfig: a version number or $LATEST.PUBLISHED."""
    if qualifier is None:
        raise _not_null("qualifier")
    if not 1 <= len(qualifier) <= 128 or not _PUBLISHED_QUALIFIER_RE.fullmatch(qualifier):
        raise constraint_error(
            qualifier,
            "qualifier",
            f"Member must satisfy regular expression pattern: {PUBLISHED_QUALIFIER_PATTERN}",
        )
    return qualifier


def parse_scaling_config(body: Any) -> tuple[int | None, int | None]:
    """(MinExecutionEnvironments, MaxExecutionEnvironments) of PutFunctionScalingConfig."""
    if body is None:
        body = {}
    if not isinstance(body, Mapping):
        raise invalid_parameter("The request body must be a JSON object.")
    scaling = body.get("FunctionScalingConfig") or {}
    if not isinstance(scaling, Mapping):
        raise invalid_parameter("FunctionScalingConfig must be an object.")
    values: list[int | None] = []
    for key in ("MinExecutionEnvironments", "MaxExecutionEnvironments"):
        value = scaling.get(key)
        member = "functionScalingConfig." + key[0].lower() + key[1:]
        values.append(
            None if value is None else _number(value, member, 0, MAX_SCALING_ENVS, integer=True)
        )
    low, high = values
    if low is not None and high is not None and low > high:
        raise invalid_parameter(
            f"MinExecutionEnvironments ({low}) must be less than or equal to "
            f"MaxExecutionEnvironments ({high})."
        )
    return low, high
