"""Shared pieces of the sandbox integration tests: sample functions and small helpers."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from lambdahost.sandbox import (
    EnvironmentManager,
    EnvSpec,
    InvokeRequest,
    SandboxSettings,
)

T = TypeVar("T")

FNS = """
import ctypes, json, logging, os, subprocess, sys, time
print("init-line")

def ok(event, context):
    print("hello", json.dumps(event))
    logging.getLogger().warning("careful")
    logging.getLogger().info("not shown at WARNING")
    subprocess.run(["/bin/echo", "from-subprocess"], check=True)
    sys.stderr.write("to-stderr\\n")
    return {"ok": True, "event": event}

def ctx(event, context):
    cc = context.client_context
    return {"request_id": context.aws_request_id, "arn": context.invoked_function_arn,
            "name": context.function_name, "version": context.function_version,
            "memory": context.memory_limit_in_mb, "group": context.log_group_name,
            "stream": context.log_stream_name, "identity": context.identity,
            "remaining": context.get_remaining_time_in_millis(),
            "trace": os.environ.get("_X_AMZN_TRACE_ID"),
            "custom": cc.custom if cc else None, "cc_env": cc.env if cc else None,
            "cwd": os.getcwd(), "path0": sys.path[0]}

def pid(event, context):
    return os.getpid()

def slow(event, context):
    time.sleep(0.2)
    return os.getpid()

def fail(event, context):
    raise ValueError("bad input")

def sleepy(event, context):
    child = subprocess.Popen(["sleep", "100"], start_new_session=True)
    print("child-pid", child.pid, flush=True)
    time.sleep(30)

def background(event, context):
    child = subprocess.Popen(["sleep", "100"], start_new_session=True)
    return child.pid

def hog(event, context):
    blocks = [bytearray(b"\\x01") * (1 << 20) for _ in range(event["mb"])]
    return len(blocks)

def exit3(event, context):
    print("about to exit")
    os._exit(3)

def sysexit(event, context):
    sys.exit(2)

def segv(event, context):
    ctypes.string_at(0)

def write_tmp(event, context):
    with open("/tmp/secret", "w") as f:
        f.write(event["v"])
    return sorted(os.listdir("/tmp"))

def read_tmp(event, context):
    return os.path.exists("/tmp/secret")

def tmp_size(event, context):
    st = os.statvfs("/tmp")
    return st.f_blocks * st.f_frsize // (1 << 20)

def environ(event, context):
    return dict(os.environ)

def unmarshalable(event, context):
    return {"x": object()}

def write_code(event, context):
    try:
        open(os.path.join(os.getcwd(), "new.txt"), "w").close()
    except OSError as e:
        return e.errno
    return 0

notcallable = 5
"""


def run(tmp_path: Path, body: Callable[[EnvironmentManager], Awaitable[T]], **kw: Any) -> T:
    settings = SandboxSettings(
        work_dir=str(tmp_path / "work"), pool_size=kw.pop("pool_size", 2), **kw
    )

    async def main() -> T:
        m = EnvironmentManager(settings)
        await m.start()
        try:
            return await body(m)
        finally:
            await m.close()

    return asyncio.run(main())


def mkspec(code: str, handler: str, key: str | None = None, **kw: Any) -> EnvSpec:
    name = kw.pop("function_name", "fn")
    environ = {
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(kw.get("memory_mb", 128)),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/22/[$LATEST]abc",
        "LANG": "en_US.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "TZ": ":UTC",
    }
    base: dict[str, Any] = dict(
        key=key or handler,
        function_name=name,
        version="$LATEST",
        code_dir=code,
        handler=handler,
        runtime="python3.12",
        memory_mb=128,
        timeout_s=3,
        ephemeral_mb=512,
        environ=environ,
    )
    base.update(kw)
    return EnvSpec(**base)


def req(rid: str = "req-1", payload: bytes = b'{"a": 1}', **kw: Any) -> InvokeRequest:
    return InvokeRequest(
        request_id=rid,
        payload=payload,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:fn",
        **kw,
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


async def wait_dead(pid: int, timeout: float = 3.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not alive(pid):
            return True
        await asyncio.sleep(0.01)
    return False
