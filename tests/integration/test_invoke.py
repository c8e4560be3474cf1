"""Invoke through boto3: payloads, errors, logs, limits, environments."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lambdahost.testing import LiveServer

CONTEXT_FN = """
import json, os, sys
def handler(event, context):
    print("to stdout")
    print("to stderr", file=sys.stderr)
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "name": context.function_name,
        "version": context.function_version,
        "memory": context.memory_limit_in_mb,
        "remaining": context.get_remaining_time_in_millis(),
        "log_group": context.log_group_name,
        "client_custom": getattr(context.client_context, "custom", None),
        "env": {k: os.environ.get(k) for k in ("AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "MY_VAR", "_HANDLER", "AWS_EXECUTION_ENV",
                "AWS_LAMBDA_FUNCTION_VERSION", "LAMBDA_TASK_ROOT")},
    }
"""

ERROR_FN = """
def handler(event, context):
    raise ValueError("bad input")
"""

COUNTER_FN = """
import os
calls = 0
def handler(event, context):
    global calls
    calls += 1
    return {"pid": os.getpid(), "calls": calls}
"""


def test_sync_invoke_context_and_env(lam: Any, create: Callable[..., Any], fname: str) -> None:
    create(
        fname,
        files={"app.py": CONTEXT_FN},
        MemorySize=256,
        Timeout=7,
        Environment={"Variables": {"MY_VAR": "v"}},
    )
    client_context = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
    out = lam.invoke(FunctionName=fname, Payload=b'{"a": 1}', ClientContext=client_context)
    assert out["StatusCode"] == 200
    assert "FunctionError" not in out
    assert out["ExecutedVersion"] == "$LATEST"
    body = json.loads(out["Payload"].read())
    assert body["event"] == {"a": 1}
    assert body["request_id"] == out["ResponseMetadata"]["RequestId"]
    assert body["arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{fname}"
    assert body["name"] == fname and body["version"] == "$LATEST"
    assert str(body["memory"]) == "256"
    assert 5000 < body["remaining"] <= 7000
    assert body["log_group"] == f"/aws/lambda/{fname}"
    assert body["client_custom"] == {"k": "v"}
    env = body["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == fname and env["AWS_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256" and env["MY_VAR"] == "v"
    assert env["_HANDLER"] == "app.handler" and env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"


def test_empty_payload_is_empty_object(lam: Any, create: Callable[..., Any], fname: str) -> None:
    create(fname, files={"app.py": CONTEXT_FN})
    assert json.loads(lam.invoke(FunctionName=fname)["Payload"].read())["event"] == {}


def test_log_tail_has_start_end_report(lam: Any, create: Callable[..., Any], fname: str) -> None:
    create(fname, files={"app.py": CONTEXT_FN})
    cold = lam.invoke(FunctionName=fname, LogType="Tail")
    log = base64.b64decode(cold["LogResult"]).decode()
    request_id = cold["ResponseMetadata"]["RequestId"]
    assert f"START RequestId: {request_id} Version: $LATEST" in log
    assert "to stdout" in log and "to stderr" in log
    assert f"END RequestId: {request_id}" in log
    report = next(line for line in log.splitlines() if line.startswith("REPORT"))
    for field in (
        "Duration:",
        "Billed Duration:",
        "Memory Size: 128 MB",
        "Max Memory Used:",
        "Init Duration:",
    ):
        assert field in report, report
    assert "\t" in report
    warm = lam.invoke(FunctionName=fname, LogType="Tail")
    warm_log = base64.b64decode(warm["LogResult"]).decode()
    assert "Init Duration" not in warm_log
    assert len(base64.b64decode(warm["LogResult"])) <= 4096


def test_function_error(lam: Any, create: Callable[..., Any], fname: str) -> None:
    create(fname, files={"app.py": ERROR_FN})
    out = lam.invoke(FunctionName=fname)
    assert out["StatusCode"] == 200
    assert out["FunctionError"] == "Unhandled"
    body = json.loads(out["Payload"].read())
    assert body["errorMessage"] == "bad input"
    assert body["errorType"] == "ValueError"
    assert isinstance(body["stackTrace"], list) and body["stackTrace"]


def test_import_and_handler_errors(lam: Any, create: Callable[..., Any], fname: str) -> None:
    create(fname, files={"other.py": "x = 1"})
    out = lam.invoke(FunctionName=fname)
    body = json.loads(out["Payload"].read())
    assert out["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"] == "Unable to import module 'app': No module named 'app'"
    create(fname + "-h", files={"app.py": "x = 1"})
    out = lam.invoke(FunctionName=fname + "-h")
    body = json.loads(out["Payload"].read())
    assert body["errorType"] == "Runtime.HandlerNotFound"
    assert body["errorMessage"] == "Handler 'handler' missing on module 'app'"


def test_warm_reuse(lam: Any, create: Callable[..., Any], fname: str) -> None:
    create(fname, files={"app.py": COUNTER_FN})
    first = json.loads(lam.invoke(FunctionName=fname)["Payload"].read())
    second = json.loads(lam.invoke(FunctionName=fname)["Payload"].read())
    assert second["pid"] == first["pid"]
    assert second["calls"] == first["calls"] + 1


def test_timeout(lam: Any, create: Callable[..., Any], fname: str) -> None:
    create(
        fname, files={"app.py": "import time\ndef handler(e, c):\n    time.sleep(30)\n"}, Timeout=1
    )
    started = time.monotonic()
    out = lam.invoke(FunctionName=fname, LogType="Tail")
    assert time.monotonic() - started < 10
    assert out["FunctionError"] == "Unhandled"
    body = json.loads(out["Payload"].read())
    assert body["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    assert "Task timed out after 1.00 seconds" in base64.b64decode(out["LogResult"]).decode()


def test_memory_limit(lam: Any, create: Callable[..., Any], fname: str) -> None:
    hog = "def handler(e, c):\n    blocks = [bytearray(50 * 1024 * 1024) for _ in range(20)]\n    return len(blocks)\n"
    create(fname, files={"app.py": hog}, MemorySize=128)
    out = lam.invoke(FunctionName=fname, LogType="Tail")
    assert out["FunctionError"] == "Unhandled"
    body = json.loads(out["Payload"].read())
    assert body["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error: signal: killed" in body["errorMessage"]
    report = [
        line
        for line in base64.b64decode(out["LogResult"]).decode().splitlines()
        if line.startswith("REPORT")
    ]
    assert report and "Max Memory Used:" in report[0]


def test_private_tmp(lam: Any, create: Callable[..., Any], fname: str) -> None:
    writer = "import os\ndef handler(e, c):\n    open('/tmp/secret.txt','w').write('x')\n    return sorted(os.listdir('/tmp'))\n"
    reader = "import os\ndef handler(e, c):\n    return os.path.exists('/tmp/secret.txt')\n"
    create(fname, files={"app.py": writer})
    create(fname + "-r", files={"app.py": reader})
    assert "secret.txt" in json.loads(lam.invoke(FunctionName=fname)["Payload"].read())
    assert json.loads(lam.invoke(FunctionName=fname + "-r")["Payload"].read()) is False


def test_payload_validation(lam: Any, create: Callable[..., Any], fname: str) -> None:
    create(fname)
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        lam.invoke(FunctionName=fname, Payload=b"{not json")
    with pytest.raises(lam.exceptions.RequestTooLargeException) as exc:
        lam.invoke(FunctionName=fname, Payload=b'"' + b"x" * (6 * 1024 * 1024 + 10) + b'"')
    assert "Request must be smaller than 6291456 bytes" in str(exc.value)
    with pytest.raises(lam.exceptions.RequestTooLargeException):
        lam.invoke(
            FunctionName=fname,
            InvocationType="Event",
            Payload=b'"' + b"x" * (1024 * 1024 + 10) + b'"',
        )
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.invoke(FunctionName=fname, ClientContext="!!!not-base64")


def test_dry_run_and_event(
    lam: Any, shared_dir: Path, create: Callable[..., Any], fname: str
) -> None:
    marker = shared_dir / f"{fname}.marker"
    create(
        fname,
        files={
            "app.py": f"def handler(e, c):\n    open({str(marker)!r}, 'a').write(e['v'] + '\\n')\n"
        },
    )
    assert lam.invoke(FunctionName=fname, InvocationType="DryRun")["StatusCode"] == 204
    assert not marker.exists()
    out = lam.invoke(FunctionName=fname, InvocationType="Event", Payload=b'{"v": "e1"}')
    assert out["StatusCode"] == 202
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not marker.exists():
        time.sleep(0.05)
    assert marker.read_text() == "e1\n"


def test_logs_are_kept_per_function(
    server: LiveServer, lam: Any, create: Callable[..., Any], fname: str
) -> None:
    from lambdahost.cli.client import Target, signed_get
    from lambdahost.testing import ACCESS_KEY, REGION, SECRET_KEY

    create(fname, files={"app.py": CONTEXT_FN})
    request_id = lam.invoke(FunctionName=fname)["ResponseMetadata"]["RequestId"]
    target = Target(server.endpoint, REGION, ACCESS_KEY, SECRET_KEY)
    status, _, body = signed_get(target, f"/_lambdahost/v1/functions/{fname}/logs")
    assert status == 200
    text = body.decode()
    assert f"START RequestId: {request_id}" in text and "to stdout" in text and "REPORT" in text
