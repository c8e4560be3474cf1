"""The process environment of an execution environment, as Lambda defines it.

Customer variables come first and the platform's own override them, except
the few that customers may override (LANG, PATH, LD_LIBRARY_PATH, TZ, the log
format and level, and AWS_XRAY_*).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

CUSTOMER_OVERRIDABLE = (
    "LANG",
    "PATH",
    "LD_LIBRARY_PATH",
    "TZ",
    "AWS_LAMBDA_LOG_FORMAT",
    "AWS_LAMBDA_LOG_LEVEL",
)


@dataclass(frozen=True)
class EnvironmentContext:
    function_name: str
    version: str
    handler: str
    runtime: str
    memory_mb: int
    region: str
    log_group: str
    code_dir: str
    access_key_id: str
    secret_access_key: str
    endpoint_url: str
    init_type: str = "on-demand"
    log_format: str = "Text"
    log_level: str | None = None
    runtime_api: str = ""  # host:port of the Runtime API, for runtimes that use it


def log_stream_name(version: str, now: float, token: str | None = None) -> str:
    day = datetime.fromtimestamp(now, UTC).strftime("%Y/%m/%d")
    return f"{day}/[{version}]{token or secrets.token_hex(16)}"


def build_environ(
    ctx: EnvironmentContext, customer: Mapping[str, str], now: float
) -> dict[str, str]:
    platform = {
        "_HANDLER": ctx.handler,
        "AWS_REGION": ctx.region,
        "AWS_DEFAULT_REGION": ctx.region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{ctx.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": ctx.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(ctx.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": ctx.version,
        "AWS_LAMBDA_INITIALIZATION_TYPE": ctx.init_type,
        "AWS_LAMBDA_LOG_GROUP_NAME": ctx.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name(ctx.version, now),
        "LAMBDA_TASK_ROOT": ctx.code_dir,
        "LAMBDA_RUNTIME_DIR": ctx.code_dir,
        "AWS_ACCESS_KEY_ID": ctx.access_key_id,
        "AWS_SECRET_ACCESS_KEY": ctx.secret_access_key,
        "AWS_ENDPOINT_URL": ctx.endpoint_url,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }
    defaults = {
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PATH": "/usr/local/bin:/usr/bin:/bin:/opt/bin",
        "LD_LIBRARY_PATH": "/lib64:/usr/lib64:/opt/lib",
        "AWS_LAMBDA_LOG_FORMAT": ctx.log_format,
    }
    if ctx.log_level:
        defaults["AWS_LAMBDA_LOG_LEVEL"] = ctx.log_level
    environ = dict(defaults)
    for key, value in customer.items():
        if key in platform or key.startswith("_"):
            continue
        environ[key] = value
    environ.update(platform)
    if ctx.runtime_api:
        environ["AWS_LAMBDA_RUNTIME_API"] = ctx.runtime_api
    return environ
