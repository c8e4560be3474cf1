"""Function configuration: request validation and the stored document.

A function version's configuration is stored as a JSON document that uses the
wire names of ``FunctionConfiguration`` (``Runtime``, ``Timeout``, ...), minus
the fields derived at read time (``FunctionName``, ``FunctionArn``,
``Version``, ``RevisionId``). Validation turns CreateFunction and
UpdateFunctionConfiguration requests into such documents, or raises AWS's
error with AWS's wording. Pure: the caller passes in the time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambdahost.core import managed_instances as lmi
from lambdahost.core import snapstart
from lambdahost.core.arns import constraint_error, require_int_in_range
from lambdahost.core.runtime_names import validate_runtime
from lambdahost.errors import ApiError, invalid_parameter

MAX_LAYERS = 5
_LAYER_VERSION_ARN_RE = re.compile(
    r"arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+"
)

ROLE_PATTERN = r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"
_ROLE_RE = re.compile(ROLE_PATTERN)
_HANDLER_RE = re.compile(r"[^\s]+")
_ENV_NAME_RE = re.compile(r"[a-zA-Z]([a-zA-Z0-9_])+")
RESERVED_ENV_KEYS = frozenset(
    {
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "_HANDLER",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "AWS_EXECUTION_ENV",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "_X_AMZN_TRACE_ID",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
    }
)
ENV_SIZE_LIMIT = 4096
MAX_TIMEOUT = 900
MAX_MEMORY = 10240
MAX_EPHEMERAL = 10240

# Fields of UpdateFunctionConfiguration that land in the document unchanged.
_SIMPLE_FIELDS = ("Role", "Handler", "Description", "Timeout", "MemorySize", "Runtime")


@dataclass(frozen=True)
class CreateRequest:
    """A validated CreateFunction request."""

    name: str
    config: dict[str, Any]
    zip_file: bytes | None
    tags: dict[str, str]
    publish: bool


def _require_int(body: Mapping[str, Any], key: str, member: str, low: int, high: int) -> int:
    return require_int_in_range(body[key], member, low, high)


def validate_role(role: Any) -> str:
    if not isinstance(role, str) or not _ROLE_RE.fullmatch(role):
        raise constraint_error(
            role, "role", f"Member must satisfy regular expression pattern: {ROLE_PATTERN}"
        )
    return role


def validate_handler(handler: Any) -> str:
    if not isinstance(handler, str) or len(handler) > 128 or not _HANDLER_RE.fullmatch(handler):
        raise constraint_error(
            handler, "handler", "Member must satisfy regular expression pattern: [^\\s]+"
        )
    return handler


def validate_description(description: Any) -> str:
    if not isinstance(description, str):
        raise constraint_error(description, "description", "Member must be a string")
    if len(description) > 256:
        raise constraint_error(
            description, "description", "Member must have length less than or equal to 256"
        )
    return description


def validate_environment(environment: Any) -> dict[str, str]:
    if not isinstance(environment, Mapping):
        raise invalid_parameter("Environment must be an object with a Variables map.")
    variables = environment.get("Variables") or {}
    if not isinstance(variables, Mapping):
        raise invalid_parameter("Environment.Variables must be a map of strings.")
    result: dict[str, str] = {}
    for key, value in variables.items():
        if not isinstance(key, str) or not _ENV_NAME_RE.fullmatch(key):
            raise constraint_error(
                key,
                "environment.variables",
                "Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+",
            )
        if not isinstance(value, str):
            raise invalid_parameter(f"The value of environment variable {key} must be a string.")
        result[key] = value
    reserved = sorted(k for k in result if k in RESERVED_ENV_KEYS or k.startswith("AWS_LAMBDA_"))
    if reserved:
        raise invalid_parameter(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not supported "
            f"for modification. Reserved keys used in this request: {', '.join(reserved)}"
        )
    size = len(_env_json(result).encode())
    if size > ENV_SIZE_LIMIT:
        raise invalid_parameter(
            "Lambda was unable to configure your environment variables because the environment "
            f"variables you have provided exceeded the 4KB limit. String measured: "
            f"{_env_json(result)}"
        )
    return result


def _env_json(variables: Mapping[str, str]) -> str:
    return "{" + ",".join(f'"{k}":"{v}"' for k, v in variables.items()) + "}"


def validate_architectures(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) != 1 or value[0] not in ("x86_64", "arm64"):
        raise constraint_error(
            value,
            "architectures",
            "Member must have length less than or equal to 1, and each member must satisfy "
            "enum value set: [x86_64, arm64]",
        )
    return [str(value[0])]


def validate_ephemeral(value: Any) -> int:
    if not isinstance(value, Mapping) or "Size" not in value:
        raise invalid_parameter("EphemeralStorage must be an object with a Size.")
    return _require_int(value, "Size", "ephemeralStorage.size", 512, MAX_EPHEMERAL)


def validate_tags(tags: Any) -> dict[str, str]:
    if not isinstance(tags, Mapping):
        raise invalid_parameter("Tags must be a map of strings.")
    if len(tags) > 50:
        raise invalid_parameter("Number of tags exceeds resource tag limit.")
    result: dict[str, str] = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise constraint_error(key, "tags", "Member must have length less than or equal to 128")
        if not isinstance(value, str) or len(value) > 256:
            raise constraint_error(
                value, "tags", "Member must have length less than or equal to 256"
            )
        result[key] = value
    return result


def _apply_common(config: dict[str, Any], body: Mapping[str, Any]) -> None:
    """Validate and copy the fields shared by create and update-configuration."""
    if "Runtime" in body and body["Runtime"] is not None:
        config["Runtime"] = validate_runtime(body["Runtime"])
    if "Role" in body and body["Role"] is not None:
        config["Role"] = validate_role(body["Role"])
    if "Handler" in body and body["Handler"] is not None:
        config["Handler"] = validate_handler(body["Handler"])
    if "Description" in body and body["Description"] is not None:
        config["Description"] = validate_description(body["Description"])
    if "Timeout" in body and body["Timeout"] is not None:
        config["Timeout"] = _require_int(body, "Timeout", "timeout", 1, MAX_TIMEOUT)
    if "MemorySize" in body and body["MemorySize"] is not None:
        config["MemorySize"] = _require_int(body, "MemorySize", "memorySize", 128, MAX_MEMORY)
    if "Environment" in body and body["Environment"] is not None:
        config["Environment"] = {"Variables": validate_environment(body["Environment"])}
    if "EphemeralStorage" in body and body["EphemeralStorage"] is not None:
        config["EphemeralStorage"] = {"Size": validate_ephemeral(body["EphemeralStorage"])}
    if "TracingConfig" in body and body["TracingConfig"] is not None:
        mode = body["TracingConfig"].get("Mode", "PassThrough")
        if mode not in ("Active", "PassThrough"):
            raise constraint_error(
                mode,
                "tracingConfig.mode",
                "Member must satisfy enum value set: [Active, PassThrough]",
            )
        config["TracingConfig"] = {"Mode": mode}
    if "DeadLetterConfig" in body and body["DeadLetterConfig"] is not None:
        target = body["DeadLetterConfig"].get("TargetArn")
        config["DeadLetterConfig"] = {"TargetArn": target} if target else {}
    if "LoggingConfig" in body and body["LoggingConfig"] is not None:
        config["LoggingConfig"] = _validate_logging(body["LoggingConfig"], config)
    if "SnapStart" in body and body["SnapStart"] is not None:
        config["SnapStart"] = snapstart.validate(body["SnapStart"])
    if "Layers" in body and body["Layers"] is not None:
        layers = validate_layers(body["Layers"])
        if layers:
            config["Layers"] = [{"Arn": arn} for arn in layers]  # CodeSize: the caller's
        else:
            config.pop("Layers", None)


def validate_layers(value: Any) -> list[str]:
    """``Layers``: at most 5 layer version ARNs, no two versions of one layer (syntax only)."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid_parameter("Layers must be a list of layer version ARNs.")
    if len(value) > MAX_LAYERS:
        raise constraint_error(
            value, "layers", f"Member must have length less than or equal to {MAX_LAYERS}"
        )
    for arn in value:
        if len(arn) > 140 or not _LAYER_VERSION_ARN_RE.fullmatch(arn):
            raise constraint_error(
                value,
                "layers",
                "Member must satisfy constraint: [Member must satisfy regular expression pattern: "
                + _LAYER_VERSION_ARN_RE.pattern
                + "]",
            )
    layers = [arn.rsplit(":", 1)[0] for arn in value]
    if len(set(layers)) != len(layers):
        raise invalid_parameter("Two different versions of the same layer are not allowed.")
    return list(value)


KMS_KEY_PATTERN = r"(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()"
_KMS_KEY_RE = re.compile(KMS_KEY_PATTERN)
DEFAULT_RETENTION_DAYS = 14  # the SAM/CDK default for RetentionPeriodInDays
DEFAULT_EXECUTION_TIMEOUT = 86_400  # the API marks it optional; CloudFormation requires it


def validate_durable_config(value: Any, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``DurableConfig`` (durable functions): ExecutionTimeout, RetentionPeriodInDays, KMSKeyArn."""
    if not isinstance(value, Mapping):
        raise invalid_parameter("DurableConfig must be an object.")
    result: dict[str, Any] = dict(current or {})
    if value.get("ExecutionTimeout") is not None:
        result["ExecutionTimeout"] = _require_int(
            value, "ExecutionTimeout", "durableConfig.executionTimeout", 1, 31_622_400
        )
    if value.get("RetentionPeriodInDays") is not None:
        result["RetentionPeriodInDays"] = _require_int(
            value, "RetentionPeriodInDays", "durableConfig.retentionPeriodInDays", 1, 90
        )
    kms = value.get("KMSKeyArn")
    if kms is not None:
        if not isinstance(kms, str) or len(kms) > 10000 or not _KMS_KEY_RE.fullmatch(kms):
            raise constraint_error(
                kms,
                "durableConfig.kMSKeyArn",
                f"Member must satisfy regular expression pattern: {KMS_KEY_PATTERN}",
            )
        if kms:
            result["KMSKeyArn"] = kms
        else:
            result.pop("KMSKeyArn", None)
    result.setdefault("ExecutionTimeout", DEFAULT_EXECUTION_TIMEOUT)
    result.setdefault("RetentionPeriodInDays", DEFAULT_RETENTION_DAYS)
    return result


def _validate_logging(value: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    current = dict(config.get("LoggingConfig") or {})
    fmt = value.get("LogFormat", current.get("LogFormat", "Text"))
    if fmt not in ("Text", "JSON"):
        raise constraint_error(
            fmt, "loggingConfig.logFormat", "Member must satisfy enum value set: [JSON, Text]"
        )
    result: dict[str, Any] = {
        "LogFormat": fmt,
        "LogGroup": value.get("LogGroup", current.get("LogGroup")),
    }
    for key in ("ApplicationLogLevel", "SystemLogLevel"):
        if key in value:
            if fmt != "JSON":
                raise invalid_parameter(f"{key} can only be set when LogFormat is JSON.")
            result[key] = value[key]
    return result


def new_config(
    body: Mapping[str, Any], *, now: str, code_sha256: str, code_size: int
) -> dict[str, Any]:
    """The $LATEST document of a function being created (code already validated)."""
    package_type = body.get("PackageType") or "Zip"
    if package_type != "Zip":
        raise invalid_parameter("lambdahost supports only PackageType Zip.")
    if not body.get("Runtime") or not body.get("Handler"):
        raise invalid_parameter(
            "Runtime and Handler are mandatory parameters for functions created with "
            "deployment packages."
        )
    config: dict[str, Any] = {
        "Runtime": None,
        "Role": None,
        "Handler": None,
        "Description": "",
        "Timeout": 3,
        "MemorySize": 128,
        "Environment": {"Variables": {}},
        "EphemeralStorage": {"Size": 512},
        "TracingConfig": {"Mode": "PassThrough"},
        "Architectures": ["x86_64"],
        "PackageType": "Zip",
        "LoggingConfig": {"LogFormat": "Text"},
        "DeadLetterConfig": {},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
    }
    if body.get("Role") is None:
        raise invalid_parameter("Role is a mandatory parameter.")
    _apply_common(config, body)
    if body.get("Architectures") is not None:
        config["Architectures"] = validate_architectures(body["Architectures"])
    if body.get("DurableConfig") is not None:
        config["DurableConfig"] = validate_durable_config(body["DurableConfig"])
    if body.get("CapacityProviderConfig") is not None:
        requested = lmi.parse_capacity_provider_config(body["CapacityProviderConfig"])
        lmi.check_request(body)
        if body.get("MemorySize") is None:
            config["MemorySize"] = lmi.MIN_MEMORY_MB
        lmi.apply_to_config(config, requested)
    snapstart.check_compatible(config)
    config["CodeSha256"] = code_sha256
    config["CodeSize"] = code_size
    config["LastModified"] = now
    # Managed Instances: $LATEST is not invoked; published versions run on the provider.
    config["State"] = "ActiveNonInvocable" if lmi.lmi_config(config) else "Active"
    config["LastUpdateStatus"] = "Successful"
    return config


def updated_config(
    current: Mapping[str, Any], body: Mapping[str, Any], *, now: str
) -> dict[str, Any]:
    """The $LATEST document after UpdateFunctionConfiguration."""
    config = dict(current)
    requested = lmi.check_update(current, body)
    if lmi.lmi_config(current) is not None:
        lmi.check_request(body)
    _apply_common(config, body)
    if lmi.lmi_config(current) is not None:
        lmi.apply_to_config(config, requested or lmi.lmi_config(current) or {})
    if body.get("DurableConfig") is not None:
        # AWS: durability is chosen at creation; an existing durable function may change its
        # settings, but an existing function cannot become durable.
        if not current.get("DurableConfig"):
            raise invalid_parameter(
                "You cannot enable durable execution on an existing function. Durable execution "
                "can only be configured when the function is created."
            )
        config["DurableConfig"] = validate_durable_config(
            body["DurableConfig"], current["DurableConfig"]
        )
    snapstart.check_compatible(config)
    config["LastModified"] = now
    config["LastUpdateStatus"] = "Successful"
    return config


def with_new_code(
    current: Mapping[str, Any],
    *,
    now: str,
    code_sha256: str,
    code_size: int,
    architectures: Any = None,
) -> dict[str, Any]:
    config = dict(current)
    config["CodeSha256"] = code_sha256
    config["CodeSize"] = code_size
    if architectures is not None:
        config["Architectures"] = validate_architectures(architectures)
    config["LastModified"] = now
    config["LastUpdateStatus"] = "Successful"
    return config


def log_group(function_name: str, config: Mapping[str, Any]) -> str:
    group = (config.get("LoggingConfig") or {}).get("LogGroup")
    return str(group) if group else f"/aws/lambda/{function_name}"


def same_publishable_content(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two documents would publish as the same version (LastModified aside)."""
    ignore = {
        "LastModified",
        "Description",
        "State",
        "StateReason",
        "StateReasonCode",
        "LastUpdateStatus",
        "SnapStart",
    }
    if (a.get("SnapStart") or {}).get("ApplyOn") != (b.get("SnapStart") or {}).get("ApplyOn"):
        return False
    return {k: v for k, v in a.items() if k not in ignore} == {
        k: v for k, v in b.items() if k not in ignore
    }


def require_int_field(body: Mapping[str, Any], key: str, member: str, low: int, high: int) -> int:
    """Exported for other validators (aliases, concurrency)."""
    return _require_int(body, key, member, low, high)


def ensure_object(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ApiError("SerializationException", "Request body must be a JSON object", 400)
    return body
