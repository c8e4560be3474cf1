"""Pure builders for platform-generated results: Lambda's wording for timeouts and
runtime exits, wait-status decoding and log lines. No I/O; used by ``env.py``.
"""

from __future__ import annotations

import json
import os
import signal
import time

# Lambda (Go runtime) words signals the way Go's syscall.Signal.String() does.
_SIGNAL_NAMES: dict[int, str] = {
    signal.SIGHUP: "hangup",
    signal.SIGINT: "interrupt",
    signal.SIGQUIT: "quit",
    signal.SIGILL: "illegal instruction",
    signal.SIGTRAP: "trace/breakpoint trap",
    signal.SIGABRT: "aborted",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGKILL: "killed",
    signal.SIGUSR1: "user defined signal 1",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGUSR2: "user defined signal 2",
    signal.SIGPIPE: "broken pipe",
    signal.SIGALRM: "alarm clock",
    signal.SIGTERM: "terminated",
    signal.SIGXCPU: "CPU time limit exceeded",
    signal.SIGXFSZ: "file size limit exceeded",
    signal.SIGSYS: "bad system call",
}

EXIT_ERROR = "Runtime.ExitError"
TIMEOUT_ERROR = "Sandbox.Timedout"
# SnapStart runtime hooks that raised (awslambdaric's names for them).
BEFORE_SNAPSHOT_ERROR = "Runtime.BeforeSnapshotError"
AFTER_RESTORE_ERROR = "Runtime.AfterRestoreError"


def _compact(obj: dict[str, str]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def signal_name(signum: int) -> str:
    return _SIGNAL_NAMES.get(signum, f"signal {signum}")


def describe_wait_status(status: int | None) -> str:
    """``exit status N`` / ``signal: killed`` as Lambda reports a runtime exit."""
    if status is None:
        return "signal: killed"
    if os.WIFSIGNALED(status):
        return "signal: " + signal_name(os.WTERMSIG(status))
    if os.WIFEXITED(status):
        return f"exit status {os.WEXITSTATUS(status)}"
    return "signal: killed"


def exit_error_message(request_id: str, status: int | None) -> str:
    return f"RequestId: {request_id} Error: Runtime exited with error: " + describe_wait_status(
        status
    )


def exit_error_payload(request_id: str, status: int | None) -> bytes:
    return _compact(
        {"errorType": EXIT_ERROR, "errorMessage": exit_error_message(request_id, status)}
    )


def timeout_payload(request_id: str, timeout_s: float) -> bytes:
    return _compact(
        {
            "errorType": TIMEOUT_ERROR,
            "errorMessage": f"RequestId: {request_id} Error: Task timed out after "
            f"{timeout_s:.2f} seconds",
        }
    )


def iso_ms(epoch: float) -> str:
    t = time.gmtime(epoch)
    ms = int(epoch * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{ms:03d}Z"


def timeout_log_line(epoch: float, request_id: str, timeout_s: float) -> str:
    return f"{iso_ms(epoch)} {request_id} Task timed out after {timeout_s:.2f} seconds\n"


def exit_log_lines(request_id: str, status: int | None) -> str:
    return f"{exit_error_message(request_id, status)}\n{EXIT_ERROR}\n"


def tail(text: str, limit: int) -> str:
    """Keep the last ``limit`` characters, marking the cut."""
    if len(text) <= limit:
        return text
    return "[... log truncated ...]\n" + text[-limit:]


def init_error_reason(body: bytes) -> str:
    """A one-line reason from an init error body (``errorType: errorMessage``)."""
    try:
        data = json.loads(body)
        return f"{data.get('errorType', 'Runtime.Unknown')}: {data.get('errorMessage', '')}"
    except (ValueError, AttributeError):
        return body.decode("utf-8", "replace")[:512]


def runtime_exit_message(request_id: str, status: int | None) -> str:
    """A Runtime-API runtime's exit, worded as Lambda does (exit 0 gives no reason)."""
    if status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return f"RequestId: {request_id} Error: Runtime exited without providing a reason"
    return exit_error_message(request_id, status)


def platform_error(request_id: str, error_type: str, message: str) -> tuple[bytes, str]:
    """(payload, log lines) of an error the platform raises for a request, e.g.
    ``Runtime.InvalidEntrypoint`` or ``Runtime.ExitError``."""
    text = (
        message
        if message.startswith("RequestId: ")
        else f"RequestId: {request_id} Error: {message}"
    )
    return _compact({"errorType": error_type, "errorMessage": text}), f"{text}\n{error_type}\n"
