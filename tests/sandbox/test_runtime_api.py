"""Runtime-API environments through a real manager: the contract a runtime sees, and
what callers and logs get when a runtime misbehaves (Lambda's error, environment replaced)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from lambdahost.sandbox import EnvironmentManager, InvokeResult, Outcome
from lambdahost.sandbox.types import Launch
from tests.sandbox.helpers import mkspec, req, run

PY = sys.executable
# A tiny Runtime API client; BODY runs once per event with `rid`, `event`, `headers`, `post`.
CLIENT = f"""#!{PY}
import http.client, json, os, sys
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
conn = http.client.HTTPConnection(host, int(port))
def call(method, path, body=None, headers=None):
    conn.request(method, "/2018-06-01/runtime" + path, body=body, headers=headers or {{}})
    r = conn.getresponse()
    return r.status, dict(r.getheaders()), r.read()
def post(path, body, headers=None):
    return call("POST", path, body, headers)
INIT
while True:
    status, headers, event = call("GET", "/invocation/next")
    rid = headers["Lambda-Runtime-Aws-Request-Id"]
BODY
"""


def client(body: str, init: str = "") -> str:
    indented = "\n".join("    " + line for line in body.strip().splitlines())
    return CLIENT.replace("INIT", init).replace("BODY", indented)


def code_dir(tmp_path: Path, files: dict[str, tuple[str, int]]) -> str:
    d = tmp_path / "code"
    d.mkdir(exist_ok=True)
    for name, (text, mode) in files.items():
        path = d / name
        path.write_text(text)
        path.chmod(mode)
    return str(d)


def provided(code: str, key: str = "prov", **kw: object) -> object:
    launch = Launch("provided", bootstrap=(code + "/bootstrap", "/opt/bootstrap"), bash_sh=True)
    return mkspec(code, "function.handler", key, runtime="provided.al2023", launch=launch, **kw)


def two_invokes(spec: object) -> object:
    async def body(m: EnvironmentManager) -> tuple[InvokeResult, InvokeResult, int]:
        first = await m.invoke(spec, req("r1"))  # type: ignore[arg-type]
        await asyncio.sleep(0.05)
        second = await m.invoke(spec, req("r2"))  # type: ignore[arg-type]
        return first, second, len(m.snapshot())

    return body


ECHO = client("""
post(f"/invocation/{rid}/response", json.dumps({"event": json.loads(event), "headers": headers,
     "pid": os.getpid(), "cwd": os.getcwd(), "tmp": os.environ.get("TMPDIR")}))
""")


def test_headers_environment_and_warm_reuse(tmp_path: Path) -> None:
    code = code_dir(tmp_path, {"bootstrap": (ECHO, 0o755)})
    spec = provided(code)
    cc = json.dumps({"custom": {"k": "v"}})

    async def body(m: EnvironmentManager) -> list[InvokeResult]:
        a = await m.invoke(spec, req("r1", client_context=cc, trace_id="Root=1-abc;Sampled=1"))
        b = await m.invoke(spec, req("r2", payload=b""))
        return [a, b]

    a, b = run(tmp_path, body)
    assert a.outcome is Outcome.SUCCESS and a.cold_start and a.init_duration_ms is not None
    out = json.loads(a.payload)
    h = out["headers"]
    assert out["event"] == {"a": 1} and out["cwd"] == code
    assert h["Lambda-Runtime-Aws-Request-Id"] == "r1"
    assert h["Lambda-Runtime-Invoked-Function-Arn"].endswith(":function:fn")
    assert h["Lambda-Runtime-Trace-Id"] == "Root=1-abc;Sampled=1"
    assert json.loads(h["Lambda-Runtime-Client-Context"]) == {"custom": {"k": "v"}}
    assert h["Content-Type"] == "application/json"
    import time

    assert 2000 < int(h["Lambda-Runtime-Deadline-Ms"]) - time.time() * 1000 <= 3000
    second = json.loads(b.payload)
    assert not b.cold_start and second["pid"] == out["pid"]  # the same runtime process
    assert second["event"] == {}  # an empty payload arrives as {}


def test_missing_bootstrap_is_an_invalid_entrypoint(tmp_path: Path) -> None:
    code = code_dir(tmp_path, {"other": ("", 0o644)})
    first, second, _ = run(tmp_path, two_invokes(provided(code)))
    assert first.outcome is Outcome.INIT_ERROR and first.error_type == "Runtime.InvalidEntrypoint"
    msg = (
        f"RequestId: r1 Error: Couldn't find valid bootstrap(s): [{code}/bootstrap /opt/bootstrap]"
    )
    assert json.loads(first.payload) == {
        "errorType": "Runtime.InvalidEntrypoint",
        "errorMessage": msg,
    }
    assert msg in first.log and "Runtime.InvalidEntrypoint" in first.log
    assert second.cold_start  # the environment was replaced


def test_bootstrap_not_executable(tmp_path: Path) -> None:
    code = code_dir(tmp_path, {"bootstrap": ("#!/bin/sh\necho hi\n", 0o644)})
    first, second, _ = run(tmp_path, two_invokes(provided(code)))
    assert first.error_type == "Runtime.InvalidEntrypoint"
    assert json.loads(first.payload)["errorMessage"] == (
        f"RequestId: r1 Error: fork/exec {code}/bootstrap: permission denied"
    )
    assert second.cold_start and second.error_type == "Runtime.InvalidEntrypoint"


def test_runtime_exiting_during_init(tmp_path: Path) -> None:
    code = code_dir(tmp_path, {"bootstrap": ("#!/bin/sh\necho starting\nexit 3\n", 0o755)})
    first, second, _ = run(tmp_path, two_invokes(provided(code)))
    assert first.outcome is Outcome.CRASH and first.error_type == "Runtime.ExitError"
    assert json.loads(first.payload)["errorMessage"] == (
        "RequestId: r1 Error: Runtime exited with error: exit status 3"
    )
    assert "starting" in first.log and "Runtime.ExitError" in first.log
    assert second.cold_start


def test_runtime_exiting_cleanly_gives_no_reason(tmp_path: Path) -> None:
    code = code_dir(tmp_path, {"bootstrap": ("#!/bin/sh\nexit 0\n", 0o755)})
    r = run(tmp_path, lambda m: m.invoke(provided(code), req()))
    assert json.loads(r.payload)["errorMessage"] == (
        "RequestId: req-1 Error: Runtime exited without providing a reason"
    )


def test_runtime_that_never_calls_next_times_out_its_init(tmp_path: Path) -> None:
    code = code_dir(tmp_path, {"bootstrap": ("#!/bin/sh\nexec sleep 60\n", 0o755)})
    first, second, _ = run(tmp_path, two_invokes(provided(code)), init_timeout_s=0.5)
    assert first.outcome is Outcome.TIMEOUT and first.error_type == "Sandbox.Timedout"
    assert second.cold_start and second.outcome is Outcome.TIMEOUT


def test_init_error_posted_by_the_runtime(tmp_path: Path) -> None:
    boot = CLIENT.split("INIT")[0] + (
        'post("/init/error", json.dumps({"errorType": "Custom.Boom", "errorMessage": "no config"}),'
        ' {"Lambda-Runtime-Function-Error-Type": "Custom.Boom"})\nsys.exit(1)\n'
    )
    code = code_dir(tmp_path, {"bootstrap": (boot, 0o755)})
    first, second, _ = run(tmp_path, two_invokes(provided(code)))
    assert first.outcome is Outcome.INIT_ERROR and first.error_type == "Custom.Boom"
    assert json.loads(first.payload) == {"errorType": "Custom.Boom", "errorMessage": "no config"}
    assert second.cold_start


def test_malformed_error_document_and_replacement(tmp_path: Path) -> None:
    code = code_dir(
        tmp_path, {"bootstrap": (client('post(f"/invocation/{rid}/error", b"oops{")'), 0o755)}
    )
    first, second, _ = run(tmp_path, two_invokes(provided(code)))
    assert first.outcome is Outcome.FUNCTION_ERROR and first.error_type == "Runtime.Unknown"
    assert json.loads(first.payload)["errorMessage"].endswith("not a JSON object: oops{")
    assert second.cold_start


def test_function_error_keeps_the_environment(tmp_path: Path) -> None:
    code = code_dir(
        tmp_path,
        {
            "bootstrap": (
                client(
                    'post(f"/invocation/{rid}/error", json.dumps({"errorType": "ValueError", '
                    '"errorMessage": "bad", "stackTrace": []}))'
                ),
                0o755,
            )
        },
    )
    first, second, _ = run(tmp_path, two_invokes(provided(code)))
    assert first.error_type == "ValueError" and json.loads(first.payload)["errorMessage"] == "bad"
    assert not second.cold_start


def test_response_for_an_unknown_request_id(tmp_path: Path) -> None:
    code = code_dir(
        tmp_path,
        {
            "bootstrap": (
                client("""
status, _, reply = post("/invocation/not-a-request/response", b"{}")
post(f"/invocation/{rid}/response", json.dumps({"bogus_status": status, "reply": json.loads(reply)}))
"""),
                0o755,
            )
        },
    )
    first, second, _ = run(tmp_path, two_invokes(provided(code)))
    assert json.loads(first.payload) == {
        "bogus_status": 400,
        "reply": {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"},
    }
    assert "unknown request id 'not-a-request'" in first.log
    assert second.cold_start  # replaced


def test_crash_and_timeout_during_an_invocation(tmp_path: Path) -> None:
    code = code_dir(
        tmp_path,
        {
            "bootstrap": (
                client("""
if json.loads(event).get("crash"):
    os._exit(2)
import time
time.sleep(30)
"""),
                0o755,
            )
        },
    )
    spec = provided(code, timeout_s=1)

    async def body(m: EnvironmentManager) -> tuple[InvokeResult, InvokeResult]:
        crash = await m.invoke(spec, req("c", payload=b'{"crash": true}'))
        slow = await m.invoke(spec, req("s"))
        return crash, slow

    crash, slow = run(tmp_path, body)
    assert crash.outcome is Outcome.CRASH and json.loads(crash.payload)["errorMessage"] == (
        "RequestId: c Error: Runtime exited with error: exit status 2"
    )
    assert slow.outcome is Outcome.TIMEOUT and slow.cold_start
    assert "Task timed out after 1.00 seconds" in slow.log


def test_oversized_response(tmp_path: Path) -> None:
    code = code_dir(
        tmp_path,
        {
            "bootstrap": (
                client("""
status, _, _ = post(f"/invocation/{rid}/response", b"x" * (6 * 1024 * 1024 + 101))
"""),
                0o755,
            )
        },
    )
    r = run(tmp_path, lambda m: m.invoke(provided(code), req()))
    assert r.outcome is Outcome.FUNCTION_ERROR and r.error_type == "Function.ResponseSizeTooLarge"


STREAMER = client("""
conn.putrequest("POST", f"/2018-06-01/runtime/invocation/{rid}/response")
for k, v in (("Lambda-Runtime-Function-Response-Mode", "streaming"),
             ("Transfer-Encoding", "chunked"),
             ("Trailer", "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body")):
    conn.putheader(k, v)
conn.endheaders()
for part in (b"one,", b"two,", b"three"):
    conn.send(b"%x\\r\\n%s\\r\\n" % (len(part), part))
if json.loads(event).get("fail"):
    import base64
    conn.send(b"0\\r\\nLambda-Runtime-Function-Error-Type: Stream.Broke\\r\\n"
              b"Lambda-Runtime-Function-Error-Body: " + base64.b64encode(b"half way") + b"\\r\\n\\r\\n")
else:
    conn.send(b"0\\r\\n\\r\\n")
conn.getresponse().read()
""")


def test_streamed_response_chunks_and_mid_stream_error(tmp_path: Path) -> None:
    code = code_dir(tmp_path, {"bootstrap": (STREAMER, 0o755)})
    spec = provided(code)
    chunks: list[bytes] = []

    async def body(m: EnvironmentManager) -> tuple[InvokeResult, InvokeResult, InvokeResult]:
        streamed = await m.invoke(spec, req("s1", on_chunk=chunks.append))
        buffered = await m.invoke(spec, req("s2"))
        failed = await m.invoke(spec, req("s3", payload=b'{"fail": true}'))
        return streamed, buffered, failed

    streamed, buffered, failed = run(tmp_path, body)
    assert b"".join(chunks) == b"one,two,three" and streamed.streamed
    assert buffered.payload == b"one,two,three" and not buffered.streamed
    assert failed.outcome is Outcome.FUNCTION_ERROR and failed.error_type == "Stream.Broke"
    assert json.loads(failed.payload)["errorMessage"] == "half way"


def test_multi_concurrency_with_awslambdaric(tmp_path: Path) -> None:
    app = "import os, time\ndef handler(event, context):\n    time.sleep(0.4)\n    return os.getpid()\n"
    boot = f'#!/bin/sh\nexec {PY} -m awslambdaric "$_HANDLER"\n'
    code = code_dir(tmp_path, {"bootstrap": (boot, 0o755), "app.py": (app, 0o644)})
    spec = mkspec(
        code,
        "app.handler",
        "lmi",
        runtime="provided.al2023",
        max_concurrency=3,
        launch=Launch("provided", bootstrap=(code + "/bootstrap",)),
        environ={"_HANDLER": "app.handler", "PATH": "/usr/bin:/bin"},
        timeout_s=10,
    )

    async def body(m: EnvironmentManager) -> tuple[list[InvokeResult], float, int]:
        await m.invoke(spec, req("warm"))
        t0 = asyncio.get_running_loop().time()
        results = await asyncio.gather(*(m.invoke(spec, req(f"p{i}")) for i in range(3)))
        elapsed = asyncio.get_running_loop().time() - t0
        return list(results), elapsed, sum(1 for e in m.snapshot() if e.key == "lmi")

    results, elapsed, envs = run(tmp_path, body)
    assert all(r.outcome is Outcome.SUCCESS for r in results), results
    assert len({r.payload for r in results}) == 3  # three workers in one environment
    assert envs == 1 and elapsed < 1.1


def test_multi_concurrency_of_the_built_in_python_runtime(tmp_path: Path) -> None:
    from lambdahost.runtimes import launch_for

    app = (
        "import os, time\nINIT_PID = os.getpid()\n"
        "def handler(event, context):\n    time.sleep(0.4)\n"
        "    return [os.getpid(), INIT_PID]\n"
    )
    code = code_dir(tmp_path, {"app.py": (app, 0o644)})
    launch = launch_for("python3.12", code, None, None, max_concurrency=3)
    assert launch is not None and launch.kind == "python"
    spec = mkspec(
        code,
        "app.handler",
        "lmi-py",
        max_concurrency=3,
        launch=launch,
        timeout_s=10,
        environ={"_HANDLER": "app.handler", "PATH": "/usr/bin:/bin"},
    )

    async def body(m: EnvironmentManager) -> tuple[list[InvokeResult], float, int]:
        await m.invoke(spec, req("warm"))
        t0 = asyncio.get_running_loop().time()
        results = await asyncio.gather(*(m.invoke(spec, req(f"p{i}")) for i in range(3)))
        elapsed = asyncio.get_running_loop().time() - t0
        return list(results), elapsed, sum(1 for e in m.snapshot() if e.key == "lmi-py")

    results, elapsed, envs = run(tmp_path, body)
    assert all(r.outcome is Outcome.SUCCESS for r in results), results
    pairs = [json.loads(r.payload) for r in results]
    assert len({pid for pid, _ in pairs}) == 3, "three worker processes"
    assert len({init for _, init in pairs}) == 1, "initialised once, before the workers forked"
    assert envs == 1 and elapsed < 1.1


def test_environment_is_exactly_the_spec_plus_the_runtime_api(tmp_path: Path) -> None:
    code = code_dir(
        tmp_path,
        {
            "bootstrap": (
                client('post(f"/invocation/{rid}/response", json.dumps(dict(os.environ)))'),
                0o755,
            )
        },
    )
    spec = provided(code)
    r = run(tmp_path, lambda m: m.invoke(spec, req()))
    env = json.loads(r.payload)
    api = env.pop("AWS_LAMBDA_RUNTIME_API")
    assert api.startswith("127.0.0.1:")
    env.pop("TMPDIR", None)
    env.pop("LC_CTYPE", None)  # set by the Python client itself (PEP 538)
    assert env == dict(spec.environ)  # type: ignore[attr-defined]
    assert os.environ.get("AWS_LAMBDA_RUNTIME_API") is None


def test_curl_large_response_does_not_wait_for_100_continue(tmp_path: Path) -> None:
    boot = """#!/bin/sh
while true; do
  H="$(mktemp)"
  curl -sS -D "$H" -o /dev/null "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next"
  ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$H" | tr -d '[:space:]' | cut -d: -f2)
  head -c 2000000 /dev/zero | tr '\\0' 'x' > /tmp/body
  curl -sS "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$ID/response" --data-binary @/tmp/body >/dev/null
done
"""
    code = code_dir(tmp_path, {"bootstrap": (boot, 0o755)})
    r = run(tmp_path, lambda m: m.invoke(provided(code), req()))
    assert r.outcome is Outcome.SUCCESS and r.payload == b"x" * 2000000
    assert r.duration_ms < 900  # curl sends Expect: 100-continue above 1 MiB, then waits 1 s


def test_provisioned_runtime_api_environment(tmp_path: Path) -> None:
    code = code_dir(tmp_path, {"bootstrap": (ECHO, 0o755)})
    spec = provided(code, key="pc", init_type="provisioned-concurrency")

    async def body(m: EnvironmentManager) -> tuple[str | None, tuple[int, int], InvokeResult]:
        reason = await m.provision(spec, 1)  # type: ignore[arg-type]
        counts = m.provisioned("pc")
        return reason, counts, await m.invoke(spec, req())  # type: ignore[arg-type]

    reason, counts, r = run(tmp_path, body)
    assert reason is None and counts == (1, 1)
    assert r.outcome is Outcome.SUCCESS and not r.cold_start


def test_provisioning_reports_a_broken_bootstrap(tmp_path: Path) -> None:
    code = code_dir(tmp_path, {"bootstrap": ("#!/bin/sh\nexit 1\n", 0o755)})
    reason = run(tmp_path, lambda m: m.provision(provided(code, key="bad"), 1))  # type: ignore[arg-type]
    assert reason is not None and "Runtime.ExitError" in reason
