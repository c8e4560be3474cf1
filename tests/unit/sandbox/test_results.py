"""Platform-generated results and Lambda's wording (lambdahost.sandbox.results)."""

from __future__ import annotations

import json
import signal

from lambdahost.sandbox import results


def _exited(code: int) -> int:
    return code << 8


def test_describe_wait_status() -> None:
    assert results.describe_wait_status(_exited(1)) == "exit status 1"
    assert results.describe_wait_status(_exited(0)) == "exit status 0"
    assert results.describe_wait_status(signal.SIGKILL) == "signal: killed"
    assert results.describe_wait_status(signal.SIGSEGV) == "signal: segmentation fault"
    assert results.describe_wait_status(signal.SIGABRT) == "signal: aborted"
    assert results.describe_wait_status(None) == "signal: killed"


def test_exit_error_payload_is_lambdas() -> None:
    body = results.exit_error_payload("req-1", signal.SIGKILL)
    assert body == (
        b'{"errorType":"Runtime.ExitError","errorMessage":"RequestId: req-1 Error: '
        b'Runtime exited with error: signal: killed"}'
    )
    assert json.loads(results.exit_error_payload("r", _exited(3)))["errorMessage"].endswith(
        "exit status 3"
    )


def test_timeout_payload_and_log_line() -> None:
    assert results.timeout_payload("abc", 3) == (
        b'{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: abc Error: '
        b'Task timed out after 3.00 seconds"}'
    )
    line = results.timeout_log_line(1_700_000_000.123, "abc", 3)
    assert line == "2023-11-14T22:13:20.123Z abc Task timed out after 3.00 seconds\n"


def test_tail_keeps_the_end() -> None:
    assert results.tail("short", 10) == "short"
    cut = results.tail("a" * 5 + "b" * 10, 10)
    assert cut.endswith("b" * 10) and "truncated" in cut
