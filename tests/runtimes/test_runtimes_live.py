"""Runtime-API runtimes against a live server, driven by boto3: AWS's curl tutorial
bootstrap (provided.al2023), unmodified awslambdaric behind a bootstrap, Node.js handlers
(async, callback, ES modules) and streamed responses read by boto3."""

from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from lambdahost.testing import ROLE
from tests.runtimes.conftest import require_tool, zip_files

# AWS's custom-runtime tutorial, unmodified (docs: "Building a custom runtime").
TUTORIAL_BOOTSTRAP = """#!/bin/sh
set -euo pipefail

# Initialization - load function handler
source $LAMBDA_TASK_ROOT/"$(echo $_HANDLER | cut -d. -f1).sh"

# Processing
while true
do
  HEADERS="$(mktemp)"
  # Get an event. The HTTP request will block until one is received
  EVENT_DATA=$(curl -sS -LD "$HEADERS" "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next")

  # Extract request ID by scraping response headers received above
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)

  # Run the handler function from the script
  RESPONSE=$($(echo "$_HANDLER" | cut -d. -f2) "$EVENT_DATA")

  # Send the response
  curl "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$REQUEST_ID/response"  -d "$RESPONSE"
done
"""
TUTORIAL_FUNCTION = """function handler () {
  EVENT_DATA=$1
  echo "$EVENT_DATA" 1>&2;
  RESPONSE="Echoing request: '$EVENT_DATA'"

  echo $RESPONSE
}
"""


def log_of(resp: dict[str, Any]) -> str:
    return base64.b64decode(resp["LogResult"]).decode()


def invoke(lam: Any, name: str, payload: bytes = b"{}", **kw: Any) -> tuple[dict[str, Any], Any]:
    resp = lam.invoke(FunctionName=name, Payload=payload, LogType="Tail", **kw)
    body = resp["Payload"].read()
    try:
        return resp, json.loads(body)
    except ValueError:
        return resp, body


def test_aws_tutorial_shell_bootstrap(lam: Any, fname: str) -> None:
    require_tool("curl")
    lam.create_function(
        FunctionName=fname,
        Runtime="provided.al2023",
        Role=ROLE,
        Handler="function.handler",
        Code={
            "ZipFile": zip_files(
                {"bootstrap": (TUTORIAL_BOOTSTRAP, 0o755), "function.sh": TUTORIAL_FUNCTION}
            )
        },
    )
    first = lam.invoke(FunctionName=fname, Payload=b'{"text": "Hello"}', LogType="Tail")
    assert first["StatusCode"] == 200 and "FunctionError" not in first
    assert first["Payload"].read() == b'Echoing request: \'{"text": "Hello"}\''
    log = log_of(first)
    assert "INIT_START Runtime Version: provided.al2023" in log and "Init Duration" in log
    assert '{"text": "Hello"}' in log  # the handler's stderr
    second = lam.invoke(FunctionName=fname, Payload=b'{"n": 2}', LogType="Tail")
    assert second["Payload"].read() == b"Echoing request: '{\"n\": 2}'"
    assert "Init Duration" not in log_of(second)


def test_unmodified_awslambdaric(lam: Any, fname: str) -> None:
    pytest.importorskip("awslambdaric")
    app = (
        "import os\n"
        "def handler(event, context):\n"
        "    print('in handler', context.aws_request_id)\n"
        "    if event.get('fail'):\n"
        "        raise ValueError('bad input')\n"
        "    return {'event': event, 'fn': context.function_name, 'mem': context.memory_limit_in_mb,\n"
        "            'arn': context.invoked_function_arn, 'left': context.get_remaining_time_in_millis(),\n"
        "            'cc': context.client_context.custom if context.client_context else None,\n"
        "            'unicode': 'é'}\n"
    )
    lam.create_function(
        FunctionName=fname,
        Runtime="provided.al2023",
        Role=ROLE,
        Handler="app.handler",
        Timeout=5,
        Code={
            "ZipFile": zip_files(
                {
                    "bootstrap": (
                        f'#!/bin/sh\nexec {sys.executable} -m awslambdaric "$_HANDLER"\n',
                        0o755,
                    ),
                    "app.py": app,
                }
            )
        },
    )
    cc = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
    resp, out = invoke(lam, fname, b'{"x": 1}', ClientContext=cc)
    assert "FunctionError" not in resp, out
    assert out["event"] == {"x": 1} and out["fn"] == fname and out["mem"] == "128"
    assert out["arn"].endswith(f":function:{fname}") and 4000 < out["left"] <= 5000
    assert out["cc"] == {"k": "v"} and out["unicode"] == "é"
    assert f"in handler {resp['ResponseMetadata']['RequestId']}" in log_of(resp)
    resp, out = invoke(lam, fname, b'{"fail": true}')
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "ValueError" and out["errorMessage"] == "bad input"
    assert "[ERROR] ValueError: bad input" in log_of(resp)
    # awslambdaric reports a missing handler through /runtime/init/error
    lam.update_function_configuration(FunctionName=fname, Handler="app.nothere")
    resp, out = invoke(lam, fname)
    assert resp["FunctionError"] == "Unhandled" and out["errorType"] == "Runtime.HandlerNotFound"


NODE_ASYNC = """
exports.handler = async (event, context) => {
  console.log('event', JSON.stringify(event));
  if (event.fail) { throw new TypeError('nope'); }
  return { async: true, event, rid: context.awsRequestId, fn: context.functionName,
           mem: context.memoryLimitInMB, left: context.getRemainingTimeInMillis() };
};
"""
NODE_CALLBACK = """
exports.handler = function (event, context, callback) {
  setTimeout(() => {
    if (event.fail) { callback(new Error('callback failure')); return; }
    callback(null, { callback: true, n: event.n * 2 });
  }, 10);
};
"""
NODE_ESM = """
import { basename } from 'node:path';
export const handler = async (event) => ({ esm: true, file: basename(import.meta.url) });
"""


@pytest.fixture
def node_function(lam: Any, fname: str) -> Callable[..., str]:
    require_tool("node")

    def make(
        files: dict[str, Any],
        handler: str = "index.handler",
        runtime: str = "nodejs20.x",
        suffix: str = "",
    ) -> str:
        name = fname + suffix
        lam.create_function(
            FunctionName=name,
            Runtime=runtime,
            Role=ROLE,
            Handler=handler,
            Code={"ZipFile": zip_files(files)},
        )
        return name

    return make


def test_node_async_handler(lam: Any, node_function: Callable[..., str]) -> None:
    name = node_function({"index.js": NODE_ASYNC}, runtime="nodejs22.x")
    resp, out = invoke(lam, name, b'{"a": 1}')
    assert "FunctionError" not in resp, out
    assert out["async"] and out["event"] == {"a": 1} and out["fn"] == name and out["mem"] == "128"
    assert out["rid"] == resp["ResponseMetadata"]["RequestId"] and 0 < out["left"] <= 3000
    log = log_of(resp)
    assert f'\t{out["rid"]}\tINFO\tevent {{"a":1}}' in log
    resp, out = invoke(lam, name, b'{"fail": true}')
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "TypeError" and out["errorMessage"] == "nope"
    assert out["trace"][0] == "TypeError: nope"


def test_node_callback_handler(lam: Any, node_function: Callable[..., str]) -> None:
    name = node_function(
        {"app/main.js": NODE_CALLBACK}, handler="app/main.handler", runtime="nodejs18.x"
    )
    resp, out = invoke(lam, name, b'{"n": 21}')
    assert out == {"callback": True, "n": 42}
    assert "runs on this host's node" in log_of(resp)  # 18.x declared, host's node is used
    resp, out = invoke(lam, name, b'{"fail": true}')
    assert resp["FunctionError"] == "Unhandled" and out["errorMessage"] == "callback failure"


def test_node_es_modules(lam: Any, node_function: Callable[..., str]) -> None:
    mjs = node_function({"index.mjs": NODE_ESM}, suffix="-mjs")
    assert invoke(lam, mjs)[1] == {"esm": True, "file": "index.mjs"}
    typed = node_function(
        {"index.js": NODE_ESM, "package.json": '{"type": "module"}'}, suffix="-type"
    )
    assert invoke(lam, typed)[1] == {"esm": True, "file": "index.js"}


def test_node_init_errors(lam: Any, node_function: Callable[..., str]) -> None:
    missing = node_function({"index.js": "exports.other = 1;"}, suffix="-nf")
    resp, out = invoke(lam, missing)
    assert resp["FunctionError"] == "Unhandled" and out["errorType"] == "Runtime.HandlerNotFound"
    syntax = node_function({"index.js": "exports.handler = async ( => 1;"}, suffix="-syn")
    assert invoke(lam, syntax)[1]["errorType"] == "Runtime.UserCodeSyntaxError"
    nomod = node_function({"other.js": ""}, suffix="-nomod")
    out = invoke(lam, nomod)[1]
    assert out["errorType"] == "Runtime.ImportModuleError" and "index" in out["errorMessage"]


STREAMING = """
export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  responseStream.setContentType('text/plain');
  for (let i = 0; i < 3; i++) {
    responseStream.write(`part-${i};`);
    await new Promise((r) => setTimeout(r, 150));
  }
  if (event.fail) { throw new Error('stream broke'); }
  responseStream.end();
});
"""


def test_streamed_response_read_by_boto3(lam: Any, node_function: Callable[..., str]) -> None:
    name = node_function({"index.mjs": STREAMING})
    resp = lam.invoke_with_response_stream(FunctionName=name, Payload=b"{}", LogType="Tail")
    assert resp["StatusCode"] == 200 and resp["ExecutedVersion"] == "$LATEST"
    assert resp["ResponseStreamContentType"] == "application/vnd.amazon.eventstream"
    chunks, arrivals, complete = [], [], None
    for event in resp["EventStream"]:
        if "PayloadChunk" in event:
            chunks.append(event["PayloadChunk"]["Payload"])
            arrivals.append(time.monotonic())
        else:
            complete = event["InvokeComplete"]
    assert b"".join(chunks) == b"part-0;part-1;part-2;" and len(chunks) == 3
    assert arrivals[-1] - arrivals[0] > 0.2  # they arrived as the function wrote them
    assert complete is not None and "ErrorCode" not in complete
    assert "REPORT RequestId" in base64.b64decode(complete["LogResult"]).decode()
    failed = lam.invoke_with_response_stream(FunctionName=name, Payload=b'{"fail": true}')
    events = list(failed["EventStream"])
    assert events[-1]["InvokeComplete"]["ErrorCode"] == "Error"
    assert events[-1]["InvokeComplete"]["ErrorDetails"].startswith("{")  # the error document
    # the same function through plain Invoke gets the whole body
    assert lam.invoke(FunctionName=name)["Payload"].read() == b"part-0;part-1;part-2;"


def test_stream_of_a_buffered_python_function(
    lam: Any, create: Callable[..., Any], fname: str
) -> None:
    create(fname, {"app.py": "def handler(event, context):\n    return {'got': event}\n"})
    events = list(
        lam.invoke_with_response_stream(FunctionName=fname, Payload=b'{"k": 1}')["EventStream"]
    )
    assert events == [{"PayloadChunk": {"Payload": b'{"got": {"k": 1}}'}}, {"InvokeComplete": {}}]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke_with_response_stream(FunctionName=fname + "-nope", Payload=b"{}")
    dry = lam.invoke_with_response_stream(FunctionName=fname, InvocationType="DryRun")
    assert dry["StatusCode"] == 204


def test_node_missing_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from lambdahost.testing import LiveServer

    monkeypatch.setenv("LAMBDAHOST_NODE", "/nonexistent/node")
    live = LiveServer(data_dir=tmp_path, store_url=f"sqlite:///{tmp_path}/store.db")
    live.start()
    try:
        lam = live.client()
        lam.create_function(
            FunctionName="js",
            Runtime="nodejs20.x",
            Role=ROLE,
            Handler="index.handler",
            Code={"ZipFile": zip_files({"index.js": NODE_ASYNC})},
        )
        with pytest.raises(lam.exceptions.InvalidRuntimeException) as e:
            lam.invoke(FunctionName="js")
        assert "node was not found" in str(e.value)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 502
    finally:
        live.stop()
