"""SnapStart through the API: publish snapshots a version, cold starts restore from it."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdahost.testing import ROLE, LiveServer, make_zip
from tests.integration.test_auth_and_cli_tools import aws

SNAP = """
import os, random, time
from snapshot_restore_py import register_after_restore, register_before_snapshot

HOOKS = []
time.sleep(float(os.environ.get("INIT_SLEEP", "0")))
INIT_PID = os.getpid()
INIT_TYPE = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE")

@register_before_snapshot
def before():
    HOOKS.append("before")
    print("before-snapshot hook", flush=True)

@register_after_restore
def after():
    HOOKS.append("after")
    print("after-restore hook", flush=True)

def handler(event, context):
    if event.get("hold"):
        time.sleep(event["hold"])
    return {"hooks": HOOKS, "pid": os.getpid(), "init_pid": INIT_PID, "init_type": INIT_TYPE,
            "random": random.random(),
            "log_group": os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")}
"""

FAILING_BEFORE = """
from snapshot_restore_py import register_before_snapshot
register_before_snapshot(lambda: 1 / 0)
def handler(event, context):
    return 1
"""

FAILING_AFTER = """
from snapshot_restore_py import register_after_restore
register_after_restore(lambda: 1 / 0)
def handler(event, context):
    return 1
"""

SNAP_ON = {"ApplyOn": "PublishedVersions"}


def wait_state(lam: Any, name: str, version: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        config: dict[str, Any] = lam.get_function_configuration(
            FunctionName=name, Qualifier=version
        )
        if config["State"] != "Pending" or time.monotonic() > deadline:
            return config
        time.sleep(0.05)


def report_of(out: dict[str, Any]) -> str:
    log = base64.b64decode(out["LogResult"]).decode()
    return log


@pytest.mark.parametrize("server", ["sqlite", "postgres"], indirect=True)
def test_publish_snapshots_and_cold_starts_restore(
    server: LiveServer, lam: Any, create: Callable[..., Any], fname: str
) -> None:
    created = create(
        fname,
        files={"app.py": SNAP},
        SnapStart=SNAP_ON,
        Environment={"Variables": {"INIT_SLEEP": "1.0"}},
    )
    assert created["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "Off"}
    published = lam.publish_version(FunctionName=fname)
    assert published["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}
    assert published["State"] == "Pending"
    assert published["StateReasonCode"] == "Creating"
    with pytest.raises(ClientError) as early:
        lam.invoke(FunctionName=fname, Qualifier="1")
    assert early.value.response["Error"]["Code"] == "SnapStartNotReadyException"
    assert early.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409

    active = wait_state(lam, fname, "1")
    assert active["State"] == "Active" and "StateReasonCode" not in active
    # The waiter a deploy tool would use agrees.
    lam.get_waiter("published_version_active").wait(
        FunctionName=fname, Qualifier="1", WaiterConfig={"Delay": 1, "MaxAttempts": 5}
    )

    with ThreadPoolExecutor(3) as pool:
        outs = list(
            pool.map(
                lambda _: lam.invoke(
                    FunctionName=fname,
                    Qualifier="1",
                    LogType="Tail",
                    Payload=json.dumps({"hold": 0.3}),
                ),
                range(3),
            )
        )
    bodies = [json.loads(o["Payload"].read()) for o in outs]
    for out, body in zip(outs, bodies, strict=True):
        assert "FunctionError" not in out
        assert body["init_type"] == "snap-start"
        assert body["hooks"] == ["before", "after"], "before once at publish, after per restore"
        assert body["log_group"] is None, "not set in SnapStart functions, as on AWS"
        log = report_of(out)
        assert "RESTORE_START Runtime Version: python3.12" in log
        assert "RESTORE_REPORT Restore Duration:" in log
        assert "after-restore hook" in log
        report = next(line for line in log.splitlines() if line.startswith("REPORT"))
        assert "Restore Duration:" in report and "Billed Restore Duration:" in report
        assert "Init Duration" not in report
        restore_ms = float(report.split("Restore Duration: ")[1].split(" ms")[0])
        assert restore_ms < 500, "restored, not initialised again (init sleeps 1 s)"
    assert len({b["init_pid"] for b in bodies}) == 1, "one snapshot"
    assert len({b["pid"] for b in bodies}) == 3, "three restored environments"
    assert len({b["random"] for b in bodies}) == 3, "random state is not shared"

    with pytest.raises(ClientError) as provisioned:
        lam.put_provisioned_concurrency_config(
            FunctionName=fname, Qualifier="1", ProvisionedConcurrentExecutions=1
        )
    assert provisioned.value.response["Error"]["Code"] == "InvalidParameterValueException"

    from lambdahost.cli.client import Target, signed_get
    from lambdahost.testing import ACCESS_KEY, REGION, SECRET_KEY

    _, _, body = signed_get(
        Target(server.endpoint, REGION, ACCESS_KEY, SECRET_KEY), "/_lambdahost/v1/stats"
    )
    row = next(r for r in json.loads(body)["Functions"] if r["FunctionName"] == fname)
    assert row["Restores"] == 3 and row["ColdStarts"] == 3

    # $LATEST is not snapshotted: it initialises as usual.
    latest = lam.invoke(FunctionName=fname, LogType="Tail")
    assert json.loads(latest["Payload"].read())["init_type"] == "on-demand"
    assert "Init Duration" in report_of(latest)

    # The AWS CLI reads the same configuration.
    cli = aws(
        server, "lambda", "get-function-configuration", "--function-name", fname, "--qualifier", "1"
    )
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["SnapStart"]["OptimizationStatus"] == "On"


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_hook_failures(lam: Any, create: Callable[..., Any], fname: str) -> None:
    create(fname, files={"app.py": FAILING_BEFORE}, SnapStart=SNAP_ON, Publish=True)
    failed = wait_state(lam, fname, "1")
    assert failed["State"] == "Failed"
    assert failed["StateReasonCode"] == "FunctionError.RuntimeInitError"
    assert "Runtime.BeforeSnapshotError" in failed["StateReason"]
    with pytest.raises(ClientError) as refused:
        lam.invoke(FunctionName=fname, Qualifier="1")
    assert refused.value.response["Error"]["Code"] == "ResourceConflictException"

    other = fname + "-after"
    create(other, files={"app.py": FAILING_AFTER}, SnapStart=SNAP_ON, Publish=True)
    assert wait_state(lam, other, "1")["State"] == "Active"
    with pytest.raises(ClientError) as restore:
        lam.invoke(FunctionName=other, Qualifier="1")
    assert restore.value.response["Error"]["Code"] == "SnapStartException"
    assert "afterRestore()" in restore.value.response["Error"]["Message"]


@pytest.mark.parametrize("server", ["sqlite", "postgres"], indirect=True)
def test_bad_snapstart_configurations_are_refused(
    lam: Any, create: Callable[..., Any], fname: str
) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"SnapStart": {"ApplyOn": "Sometimes"}}, "ApplyOn"),
        ({"SnapStart": SNAP_ON, "Runtime": "python3.11"}, "python3.11"),
        ({"SnapStart": SNAP_ON, "EphemeralStorage": {"Size": 1024}}, "512 MB"),
    ]
    for extra, wording in cases:
        with pytest.raises(ClientError) as bad:
            create(fname, **extra)
        error = bad.value.response["Error"]
        assert error["Code"] in ("InvalidParameterValueException", "ValidationException")
        assert wording.lower() in error["Message"].lower()
    with pytest.raises(ClientError):
        lam.get_function(FunctionName=fname)  # nothing was stored
    create(fname)
    with pytest.raises(ClientError) as bad_update:
        lam.update_function_configuration(
            FunctionName=fname, SnapStart=SNAP_ON, EphemeralStorage={"Size": 2048}
        )
    assert bad_update.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert lam.get_function_configuration(FunctionName=fname)["SnapStart"]["ApplyOn"] == "None"


def test_snapshots_come_back_after_a_restart(tmp_path: Any) -> None:
    live = LiveServer(data_dir=tmp_path, store_url=f"sqlite:///{tmp_path}/s.db")
    live.start()
    try:
        lam = live.client()
        lam.create_function(
            FunctionName="snappy",
            Runtime="python3.13",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": make_zip({"app.py": SNAP})},
            SnapStart=SNAP_ON,
            Publish=True,
        )
        assert wait_state(lam, "snappy", "1")["State"] == "Active"
        before = json.loads(lam.invoke(FunctionName="snappy", Qualifier="1")["Payload"].read())
        live.stop()
        live.start()
        lam = live.client()
        out = lam.invoke(FunctionName="snappy", Qualifier="1", LogType="Tail")
        after = json.loads(out["Payload"].read())
        assert after["init_pid"] != before["init_pid"], "snapshotted again by the new server"
        assert after["hooks"] == ["before", "after"]
        log = report_of(out)
        report = next(line for line in log.splitlines() if line.startswith("REPORT"))
        # made again by this first cold start: its REPORT shows the init and the restore
        assert "Init Duration" in report and "Restore Duration" in report
        assert "INIT_REPORT" in log and "RESTORE_REPORT" in log
    finally:
        live.stop()


NOOP_EXTENSION = """#!{python}
import http.client, json, os
conn = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"])
conn.request("POST", "/2020-01-01/extension/register", json.dumps({{"events": ["SHUTDOWN"]}}),
             {{"Lambda-Extension-Name": "noop"}})
resp = conn.getresponse()
ext_id = resp.getheader("Lambda-Extension-Identifier")
resp.read()
while True:
    conn.request("GET", "/2020-01-01/extension/event/next",
                 headers={{"Lambda-Extension-Identifier": ext_id}})
    if json.loads(conn.getresponse().read()).get("eventType") == "SHUTDOWN":
        break
"""


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_functions_with_extensions_initialise_on_demand(
    server: LiveServer, lam: Any, create: Callable[..., Any], fname: str
) -> None:
    """External extensions need the Runtime API lifecycle, which lambdahost does not
    snapshot: such versions become Active and initialise on demand, and say so in the log."""
    import sys

    from lambdahost.cli.client import Target, signed_get
    from lambdahost.testing import ACCESS_KEY, REGION, SECRET_KEY
    from tests.runtimes.conftest import zip_files

    layer = lam.publish_layer_version(
        LayerName=f"noop-{fname}",
        Content={
            "ZipFile": zip_files(
                {"extensions/noop": (NOOP_EXTENSION.format(python=sys.executable), 0o755)}
            )
        },
    )
    create(fname, files={"app.py": SNAP}, SnapStart=SNAP_ON, Layers=[layer["LayerVersionArn"]])
    lam.publish_version(FunctionName=fname)
    assert wait_state(lam, fname, "1")["State"] == "Active"
    out = lam.invoke(FunctionName=fname, Qualifier="1", LogType="Tail")
    assert json.loads(out["Payload"].read())["hooks"] == []  # no snapshot, so no hooks
    assert "Init Duration" in report_of(out)
    _, _, body = signed_get(
        Target(server.endpoint, REGION, ACCESS_KEY, SECRET_KEY),
        f"/_lambdahost/v1/functions/{fname}/logs",
    )
    assert b"SnapStart is not applied to version 1" in body


def test_a_version_pending_when_the_server_dies_is_snapshotted_after_restart(
    tmp_path: Any,
) -> None:
    live = LiveServer(data_dir=tmp_path, store_url=f"sqlite:///{tmp_path}/s.db")
    live.start()
    try:
        lam = live.client()
        lam.create_function(
            FunctionName="slowsnap",
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": make_zip({"app.py": SNAP})},
            Environment={"Variables": {"INIT_SLEEP": "3"}},
            SnapStart=SNAP_ON,
        )
        assert lam.publish_version(FunctionName="slowsnap")["State"] == "Pending"
        live.kill9()  # while the version is being initialised
        live.start()
        lam = live.client()
        assert wait_state(lam, "slowsnap", "1")["State"] == "Active"
        out = json.loads(lam.invoke(FunctionName="slowsnap", Qualifier="1")["Payload"].read())
        assert out["hooks"] == ["before", "after"]
    finally:
        live.stop()
