"""Layers and extensions against a live server, driven by boto3: the layer API, layers
seen under /opt from Python and Node, refused layers, and an external extension that
gets INVOKE, telemetry and SHUTDOWN."""

from __future__ import annotations

import base64
import io
import json
import shutil
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lambdahost.testing import ROLE, make_zip
from tests.runtimes.conftest import require_tool, zip_files
from tests.runtimes.test_runtimes_live import TUTORIAL_BOOTSTRAP, TUTORIAL_FUNCTION


def publish(lam: Any, name: str, files: dict[str, Any], **kw: Any) -> dict[str, Any]:
    result: dict[str, Any] = lam.publish_layer_version(
        LayerName=name, Content={"ZipFile": zip_files(files)}, **kw
    )
    return result


def test_layer_api(lam: Any, fname: str) -> None:
    name = f"layer-{fname}"
    v1 = publish(
        lam,
        name,
        {"python/a.py": "A = 1\n"},
        Description="first",
        CompatibleRuntimes=["python3.12"],
        CompatibleArchitectures=["x86_64"],
        LicenseInfo="MIT",
    )
    v2 = publish(lam, name, {"python/a.py": "A = 2\n"}, CompatibleRuntimes=["nodejs20.x"])
    assert (v1["Version"], v2["Version"]) == (1, 2)
    assert v1["LayerVersionArn"] == v1["LayerArn"] + ":1" and ":layer:" + name in v1["LayerArn"]
    assert v1["Content"]["CodeSize"] > 0 and v1["Content"]["Location"].startswith("http")
    got = lam.get_layer_version(LayerName=name, VersionNumber=1)
    assert got["Description"] == "first" and got["LicenseInfo"] == "MIT"
    assert got["Content"]["CodeSha256"] == v1["Content"]["CodeSha256"]
    by_arn = lam.get_layer_version_by_arn(Arn=v2["LayerVersionArn"])
    assert by_arn["Version"] == 2 and by_arn["CompatibleRuntimes"] == ["nodejs20.x"]
    versions = lam.list_layer_versions(LayerName=name)["LayerVersions"]
    assert [v["Version"] for v in versions] == [2, 1]
    assert [
        v["Version"]
        for v in lam.list_layer_versions(LayerName=name, CompatibleRuntime="python3.12")[
            "LayerVersions"
        ]
    ] == [1]
    listed = {x["LayerName"]: x for x in lam.list_layers()["Layers"]}
    assert listed[name]["LatestMatchingVersion"]["Version"] == 2
    pyonly = {x["LayerName"]: x for x in lam.list_layers(CompatibleRuntime="python3.12")["Layers"]}
    assert pyonly[name]["LatestMatchingVersion"]["Version"] == 1
    # permissions
    added = lam.add_layer_version_permission(
        LayerName=name,
        VersionNumber=1,
        StatementId="everyone",
        Action="lambda:GetLayerVersion",
        Principal="*",
    )
    assert json.loads(added["Statement"])["Sid"] == "everyone"
    policy = lam.get_layer_version_policy(LayerName=name, VersionNumber=1)
    assert json.loads(policy["Policy"])["Statement"][0]["Principal"] == "*"
    assert policy["RevisionId"] == added["RevisionId"]
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.add_layer_version_permission(
            LayerName=name,
            VersionNumber=1,
            StatementId="everyone",
            Action="lambda:GetLayerVersion",
            Principal="*",
        )
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.remove_layer_version_permission(
            LayerName=name, VersionNumber=1, StatementId="everyone", RevisionId="stale"
        )
    lam.remove_layer_version_permission(LayerName=name, VersionNumber=1, StatementId="everyone")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_layer_version_policy(LayerName=name, VersionNumber=1)
    # deletion: gone from the API, numbers never reused
    lam.delete_layer_version(LayerName=name, VersionNumber=2)
    lam.delete_layer_version(LayerName=name, VersionNumber=2)  # idempotent
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_layer_version(LayerName=name, VersionNumber=2)
    assert publish(lam, name, {"x.txt": "x"})["Version"] == 3


def test_refused_layers(lam: Any, fname: str) -> None:
    def refused(data: bytes) -> str:
        with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
            lam.publish_layer_version(LayerName=f"bad-{fname}", Content={"ZipFile": data})
        return str(e.value)

    assert "outside" in refused(make_zip({"../escape.txt": "x"}))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        info = zipfile.ZipInfo("python/link")
        info.external_attr = (0o120777) << 16
        archive.writestr(info, "/etc/passwd")
    assert "outside" in refused(buf.getvalue())
    big = io.BytesIO()
    with (
        zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("big.bin", "w", force_zip64=True) as member,
    ):
        block = bytes(1 << 20)
        for _ in range(251):
            member.write(block)
    assert "Unzipped size must be smaller than 262144000 bytes" in refused(big.getvalue())
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="does not exist"):
        lam.create_function(
            FunctionName=fname,
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": make_zip({"app.py": ""})},
            Layers=[f"arn:aws:lambda:us-east-1:123456789012:layer:nope-{fname}:1"],
        )


def test_layers_from_python_and_node(lam: Any, create: Callable[..., Any], fname: str) -> None:
    base = publish(
        lam,
        f"base-{fname}",
        {
            "python/shared.py": "WHO = 'base'\n",
            "python/lib/python3.11/site-packages/sitepkg.py": "X = 'site'\n",
            "nodejs/node_modules/shared/index.js": "module.exports = { who: 'base' };\n",
            "bin/tool": ("#!/bin/sh\necho tool\n", 0o755),
        },
    )
    over = publish(lam, f"over-{fname}", {"python/shared.py": "WHO = 'override'\n"})
    arns = [base["LayerVersionArn"], over["LayerVersionArn"]]
    app = (
        "import os, shared, subprocess, sys\n"
        "def handler(event, context):\n"
        "    site = sys.version_info[:2] == (3, 11) and __import__('sitepkg').X\n"
        "    tool = subprocess.run(['tool'], capture_output=True, text=True).stdout.strip()\n"
        "    return {'who': shared.WHO, 'opt': sorted(os.listdir('/opt')), 'site': site,\n"
        "            'tool': tool}\n"
    )
    config = create(fname, {"app.py": app}, Layers=arns)
    assert [x["Arn"] for x in config["Layers"]] == arns
    assert all(x["CodeSize"] > 0 for x in config["Layers"])
    out = json.loads(lam.invoke(FunctionName=fname)["Payload"].read())
    assert out["who"] == "override"  # later layers win
    assert out["opt"] == ["bin", "nodejs", "python"] and out["tool"] == "tool"
    assert out["site"] in ("site", False)
    # a deleted layer version keeps working for functions that use it
    lam.delete_layer_version(LayerName=f"over-{fname}", VersionNumber=over["Version"])
    lam.update_function_configuration(FunctionName=fname, Description="new env")
    assert json.loads(lam.invoke(FunctionName=fname)["Payload"].read())["who"] == "override"
    lam.update_function_configuration(FunctionName=fname, Layers=[])
    assert "Layers" not in lam.get_function_configuration(FunctionName=fname)
    if shutil.which("node"):
        node = fname + "-node"
        lam.create_function(
            FunctionName=node,
            Runtime="nodejs20.x",
            Role=ROLE,
            Handler="index.handler",
            Layers=[base["LayerVersionArn"]],
            Code={
                "ZipFile": make_zip(
                    {
                        "index.js": (
                            "const shared = require('shared');\n"
                            "exports.handler = async () => ({ who: shared.who, path: process.env.NODE_PATH });\n"
                        )
                    }
                )
            },
        )
        out = json.loads(lam.invoke(FunctionName=node)["Payload"].read())
        assert out["who"] == "base" and "/opt/nodejs/node_modules" in out["path"]


EXTENSION = """#!{python}
import http.server, json, os, sys, threading, urllib.request
API = os.environ["AWS_LAMBDA_RUNTIME_API"]
OUT = {out!r}
def record(kind, value):
    with open(OUT, "a") as f:
        f.write(json.dumps({{"kind": kind, "value": value}}) + "\\n")
def call(path, method="GET", body=None, headers=None):
    req = urllib.request.Request(f"http://{{API}}{{path}}", data=body, method=method,
                                 headers=headers or {{}})
    with urllib.request.urlopen(req) as r:
        return r.headers, r.read()
headers, info = call("/2020-01-01/extension/register", "POST",
                     json.dumps({{"events": ["INVOKE", "SHUTDOWN"]}}).encode(),
                     {{"Lambda-Extension-Name": os.path.basename(sys.argv[0])}})
ext_id = headers["Lambda-Extension-Identifier"]
record("registered", json.loads(info))
record("environ", sorted(k for k in ("LAMBDA_TASK_ROOT", "AWS_EXECUTION_ENV", "AWS_LAMBDA_RUNTIME_API") if k in os.environ))
class Telemetry(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        batch = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        record("telemetry", [e["type"] for e in batch])
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Telemetry)
threading.Thread(target=server.serve_forever, daemon=True).start()
subscription = {{"schemaVersion": "2022-07-01", "types": ["platform", "function"],
                "buffering": {{"timeoutMs": 25}},
                "destination": {{"protocol": "HTTP",
                                "URI": f"http://sandbox.localdomain:{{server.server_address[1]}}"}}}}
call("/2022-07-01/telemetry", "PUT", json.dumps(subscription).encode(),
     {{"Lambda-Extension-Identifier": ext_id}})
while True:
    _, body = call("/2020-01-01/extension/event/next", headers={{"Lambda-Extension-Identifier": ext_id}})
    event = json.loads(body)
    record("event", event)
    if event["eventType"] == "SHUTDOWN":
        sys.exit(0)
"""


def read_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_for(
    path: Path, pred: Callable[[list[dict[str, Any]]], bool], timeout: float = 15.0
) -> list[dict[str, Any]]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        records = read_records(path)
        if pred(records):
            return records
        time.sleep(0.05)
    raise AssertionError(f"timed out; got {read_records(path)}")


PY_APP = "def handler(event, context):\n    print('python handler')\n    return {'py': event}\n"


@pytest.mark.parametrize("runtime", ["provided.al2023", "python3.12"])
def test_extension_gets_invoke_telemetry_and_shutdown(
    lam: Any, fname: str, shared_dir: Path, runtime: str
) -> None:
    out = shared_dir / "extension.jsonl"
    ext = EXTENSION.format(python=sys.executable, out=str(out))
    layer = publish(lam, f"ext-{fname}", {"extensions/recorder": (ext, 0o755)})
    if runtime == "python3.12":
        code, handler, expected = {"app.py": PY_APP}, "app.handler", b'{"py": {"hello": 1}}'
    else:
        require_tool("curl")
        code = {"bootstrap": (TUTORIAL_BOOTSTRAP, 0o755), "function.sh": TUTORIAL_FUNCTION}
        handler, expected = "function.handler", b"Echoing request: '{\"hello\": 1}'"
    lam.create_function(
        FunctionName=fname,
        Runtime=runtime,
        Role=ROLE,
        Handler=handler,
        Layers=[layer["LayerVersionArn"]],
        Code={"ZipFile": zip_files(code)},
    )
    resp = lam.invoke(FunctionName=fname, Payload=b'{"hello": 1}', LogType="Tail")
    assert resp["Payload"].read() == expected
    if runtime == "python3.12":
        assert "python handler" in base64.b64decode(resp["LogResult"]).decode()
    rid = resp["ResponseMetadata"]["RequestId"]
    records = wait_for(out, lambda rs: any(r["kind"] == "event" for r in rs))
    registered = next(r["value"] for r in records if r["kind"] == "registered")
    assert registered == {"functionName": fname, "functionVersion": "$LATEST", "handler": handler}
    # Extensions do not see the runtime-only variables.
    assert next(r["value"] for r in records if r["kind"] == "environ") == ["AWS_LAMBDA_RUNTIME_API"]
    invoke = next(r["value"] for r in records if r["kind"] == "event")
    assert invoke["eventType"] == "INVOKE" and invoke["requestId"] == rid
    assert invoke["invokedFunctionArn"].endswith(f":function:{fname}") and invoke["deadlineMs"] > 0
    # Reaping the environment (here: a configuration change) runs the shutdown phase.
    lam.update_function_configuration(FunctionName=fname, Description="retire the environment")
    records = wait_for(
        out,
        lambda rs: any(r["kind"] == "event" and r["value"]["eventType"] == "SHUTDOWN" for r in rs),
    )
    shutdown = [r["value"] for r in records if r["kind"] == "event"][-1]
    assert shutdown["shutdownReason"] == "spindown" and shutdown["deadlineMs"] > 0
    types = {t for r in records if r["kind"] == "telemetry" for t in r["value"]}
    assert {
        "platform.initStart",
        "platform.start",
        "platform.runtimeDone",
        "platform.report",
        "function",
    } <= types
