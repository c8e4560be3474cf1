"""In-environment objects the function sees: the ``context`` argument (shaped like
awslambdaric's ``LambdaContext``) and the root ``logging`` handler with Lambda's text
and JSON formats. Stdlib only; loaded into the zygote and shared by every env.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any


def _iso_ms(epoch: float) -> str:
    ms = int(epoch * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{ms:03d}Z"


class Client:
    """``context.client_context.client`` (mobile SDK client information)."""

    __slots__ = (
        "app_package_name",
        "app_title",
        "app_version_code",
        "app_version_name",
        "installation_id",
    )

    def __init__(self, data: dict[str, Any]) -> None:
        self.installation_id = data.get("installation_id")
        self.app_title = data.get("app_title")
        self.app_version_name = data.get("app_version_name")
        self.app_version_code = data.get("app_version_code")
        self.app_package_name = data.get("app_package_name")


class ClientContext:
    """``context.client_context``: ``client``, ``custom`` and ``env`` from the JSON."""

    __slots__ = ("client", "custom", "env")

    def __init__(self, data: dict[str, Any]) -> None:
        client = data.get("client")
        self.client = Client(client) if isinstance(client, dict) else None
        self.custom = data.get("custom")
        self.env = data.get("env")


def parse_client_context(text: str | None) -> ClientContext | None:
    if not text:
        return None
    data = json.loads(text)
    return ClientContext(data) if isinstance(data, dict) else None


class LambdaContext:
    """The second argument of ``handler(event, context)``."""

    def __init__(
        self,
        request_id: str,
        arn: str,
        deadline_ms: int,
        client_context: ClientContext | None,
        stdout_write: Any,
    ) -> None:
        env = os.environ
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = client_context
        self.identity = None
        self.tenant_id = None
        self._deadline_ms = deadline_ms
        self._write = stdout_write

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, msg: str) -> None:
        self._write(msg)

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"function_name={self.function_name},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


class RequestIdFilter(logging.Filter):
    """Stamps every record with the current request id (empty during init)."""

    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = RequestIdFilter.request_id
        return True


class LambdaTextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.exc_info:
            msg = msg + "\n" + self.formatException(record.exc_info)
        rid = getattr(record, "aws_request_id", "")
        return f"[{record.levelname}]\t{_iso_ms(record.created)}\t{rid}\t{msg}"


class LambdaJsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "timestamp": _iso_ms(record.created),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        rid = getattr(record, "aws_request_id", "")
        if rid:
            out["requestId"] = rid
        if record.exc_info:
            out["stackTrace"] = self.formatException(record.exc_info).splitlines()
        return json.dumps(out, default=str)


class StdoutHandler(logging.Handler):
    """Writes each record as one line to whatever ``sys.stdout`` is now."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            out = sys.stdout
            out.write(line + "\n")
            out.flush()
        except Exception:
            self.handleError(record)


_HANDLER: StdoutHandler | None = None
_TEXT = LambdaTextFormatter()
_JSON = LambdaJsonFormatter()


def install_root_handler() -> None:
    """Create Lambda's root handler once (in the zygote, so environments share it)."""
    global _HANDLER
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    _HANDLER = StdoutHandler()
    _HANDLER.addFilter(RequestIdFilter())
    _HANDLER.setFormatter(_TEXT)
    root.addHandler(_HANDLER)
    root.setLevel(logging.WARNING)


def configure_logging(environ: dict[str, str] | os._Environ[str]) -> None:
    """Root logger as Lambda sets it: one handler, WARNING unless AWS_LAMBDA_LOG_LEVEL."""
    root = logging.getLogger()
    if _HANDLER is None or root.handlers != [_HANDLER]:
        install_root_handler()
    assert _HANDLER is not None
    if environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON":
        _HANDLER.setFormatter(_JSON)
    level = environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level == "TRACE":
        level = "DEBUG"
    if level == "FATAL":
        level = "CRITICAL"
    if level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        root.setLevel(level)
