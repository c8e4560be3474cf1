"""The built-in Python runtime, spoken over the Lambda Runtime API (runs inside an env).

Python functions normally run on the fork-server's frame protocol (``runtime.py``),
which is faster. When a Python function has external extensions (``/opt/extensions``)
it needs the real Runtime API lifecycle, so its environment execs this client instead:
the same handler loading, event decoding, context, logging and error documents as the
built-in runtime (it reuses ``runtime.Environment``), but events come from ``/next`` and
results go to ``/response`` and ``/error``. Functions on a capacity provider (Lambda
Managed Instances, ``AWS_LAMBDA_MAX_CONCURRENCY`` > 1) run here too: after init the client
forks that many workers, each serving one invocation at a time. Started by ``BOOTSTRAP`` (bare package
modules, like the zygote), so no platform module is imported here.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import re
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from lambdahost.sandbox import linux
from lambdahost.sandbox.context import RequestIdFilter, configure_logging
from lambdahost.sandbox.runtime import Environment, InitError

BOOTSTRAP = (
    "import sys, types\n"
    "root = sys.argv[1]\n"
    "for name, sub in (('lambdahost', ''), ('lambdahost.sandbox', '/sandbox')):\n"
    "    m = types.ModuleType(name)\n"
    "    m.__path__ = [root + '/lambdahost' + sub]\n"
    "    sys.modules[name] = m\n"
    "from lambdahost.sandbox.pyclient import main\n"
    "main()\n"
)
_BASE = "/2018-06-01/runtime"


class Client:
    def __init__(self, address: str) -> None:
        host, _, port = address.partition(":")
        self.conn = http.client.HTTPConnection(host, int(port))

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        self.conn.request(method, _BASE + path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()


def _sys_path(code_dir: str) -> None:
    opt = os.environ.get("LAMBDAHOST_OPT", "/opt")
    layers = [
        f"{opt}/python",
        f"{opt}/python/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages",
    ]
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(":") if p]
    base = [p for p in sys.path if p not in ("", ".")]
    front = [code_dir, *extra, *[p for p in layers if os.path.isdir(p)]]
    sys.path[:] = list(dict.fromkeys(front + base))


def main() -> None:
    code_dir = os.getcwd()
    _sys_path(code_dir)
    configure_logging(os.environ)
    env = Environment(socket.socket(), -1, {})
    version = re.search(r"python3\.(\d+)", os.environ.get("AWS_EXECUTION_ENV", ""))
    env.ensure_ascii = not (version is not None and int(version.group(1)) >= 12)
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(line_buffering=True)
    client = Client(os.environ["AWS_LAMBDA_RUNTIME_API"])
    try:
        handler = env._load_handler(os.environ.get("_HANDLER", ""))
    except InitError as e:
        env.log_error(e.error_type, e.message, e.stack)
        body = json.dumps(
            {
                "errorMessage": e.message,
                "errorType": e.error_type,
                "requestId": "",
                "stackTrace": e.stack,
            }
        ).encode()
        client.call(
            "POST", "/init/error", body, {"Lambda-Runtime-Function-Error-Type": e.error_type}
        )
        sys.exit(1)
    workers = _max_concurrency()
    if workers > 1:
        _run_workers(workers, lambda: _serve(env, handler))
    _serve(env, handler, client)


def _max_concurrency() -> int:
    try:
        return max(1, int(os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY", "1")))
    except ValueError:
        return 1


def _run_workers(count: int, serve: Callable[[], None]) -> NoReturn:
    """Managed Instances: ``count`` worker processes, forked after init, each polling
    ``/next`` for one invocation at a time (as Lambda's Python runtime does). If one
    dies the environment is broken: the others are killed and this process exits."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    pids = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            try:
                linux.set_pdeathsig(signal.SIGKILL)
                serve()
            finally:
                os._exit(1)
        pids.append(pid)
    _, status = os.wait()
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF or 1)


def _serve(
    env: Environment, handler: Callable[[Any, Any], Any], client: Client | None = None
) -> None:
    client = client or Client(os.environ["AWS_LAMBDA_RUNTIME_API"])
    while True:
        _, headers, payload = client.call("GET", "/invocation/next")
        rid = headers.get("lambda-runtime-aws-request-id", "")
        RequestIdFilter.request_id = rid
        trace = headers.get("lambda-runtime-trace-id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        deadline = int(headers.get("lambda-runtime-deadline-ms") or 0)
        ok, error_type, body = env._call(
            handler,
            rid,
            headers.get("lambda-runtime-invoked-function-arn", ""),
            headers.get("lambda-runtime-client-context"),
            deadline,
            payload,
        )
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        if ok:
            client.call("POST", f"/invocation/{rid}/response", body)
        else:
            client.call(
                "POST",
                f"/invocation/{rid}/error",
                body,
                {"Lambda-Runtime-Function-Error-Type": str(error_type)},
            )
        RequestIdFilter.request_id = ""


def argv(python: str) -> tuple[str, ...]:
    """The command that starts this client with ``python`` (from the platform side)."""
    src_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return (python, "-s", "-c", BOOTSTRAP, src_root)
