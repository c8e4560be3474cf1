"""Lambda's per-invocation platform log lines: START, END and REPORT.

REPORT fields are separated by tabs and the line ends with a tab, as Lambda
writes them. Pure formatting; the numbers come from the environment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class InvocationReport:
    request_id: str
    version: str
    duration_ms: float
    memory_size_mb: int
    max_memory_used_mb: int
    init_duration_ms: float | None = None
    status: str | None = None  # None on success, "timeout" or "error"
    error_type: str | None = None
    # SnapStart: a cold start restored from a snapshot (no Init Duration then).
    restore_duration_ms: float | None = None
    billed_restore_ms: float | None = None


def billed_duration_ms(duration_ms: float) -> int:
    """Lambda bills in 1 ms increments, rounding up, with a 1 ms minimum."""
    return max(1, math.ceil(duration_ms))


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}\n"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}\n"


def report_line(report: InvocationReport) -> str:
    parts = [
        f"REPORT RequestId: {report.request_id}",
        f"Duration: {report.duration_ms:.2f} ms",
        f"Billed Duration: {billed_duration_ms(report.duration_ms)} ms",
        f"Memory Size: {report.memory_size_mb} MB",
        f"Max Memory Used: {report.max_memory_used_mb} MB",
    ]
    if report.init_duration_ms is not None:
        parts.append(f"Init Duration: {report.init_duration_ms:.2f} ms")
    if report.restore_duration_ms is not None:
        parts.append(f"Restore Duration: {report.restore_duration_ms:.2f} ms")
        billed = report.billed_restore_ms or 0.0
        parts.append(f"Billed Restore Duration: {math.ceil(billed)} ms")
    if report.status:
        parts.append(f"Status: {report.status}")
        if report.error_type:
            parts.append(f"Error Type: {report.error_type}")
    return "\t".join(parts) + "\t\n"


def restore_report_line(restore_duration_ms: float) -> str:
    return f"RESTORE_REPORT Restore Duration: {restore_duration_ms:.2f} ms\n"


def init_report_line(init_duration_ms: float, error_type: str | None = None) -> str:
    """The INIT_REPORT of an init phase outside any invocation (a SnapStart snapshot)."""
    line = f"INIT_REPORT Init Duration: {init_duration_ms:.2f} ms\tPhase: init\t"
    line += f"Status: error\tError Type: {error_type}\t" if error_type else "Status: success\t"
    return line + "\n"


def invocation_log(report: InvocationReport, function_output: str, init_lines: str = "") -> str:
    """The whole log of one invocation, from INIT/START to REPORT."""
    body = function_output
    if body and not body.endswith("\n"):
        body += "\n"
    return (
        init_lines
        + start_line(report.request_id, report.version)
        + body
        + end_line(report.request_id)
        + report_line(report)
    )


def tail(log: str, limit: int = 4096) -> bytes:
    """The last ``limit`` bytes of a log, as ``X-Amz-Log-Result`` carries them."""
    data = log.encode("utf-8", "replace")
    return data[-limit:]
