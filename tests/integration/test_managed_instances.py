"""Lambda Managed Instances through boto3 and the AWS CLI: functions on a capacity provider,
function scaling configs, and admission (N invocations at once per environment, the next one
refused with 429). API tests run on both stores; the concurrency tests on SQLite."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdahost.cli.client import Target, signed_get
from lambdahost.testing import ACCESS_KEY, REGION, ROLE, SECRET_KEY, LiveServer, make_zip
from tests.integration.test_auth_and_cli_tools import aws
from tests.integration.test_cli import cli
from tests.runtimes.conftest import zip_files

LMI = "LambdaManagedInstancesCapacityProviderConfig"
VPC = {"SubnetIds": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}
PERMISSIONS = {"CapacityProviderOperatorRoleArn": "arn:aws:iam::123456789012:role/operator"}
NEVER_RUN = "def handler(event, context):\n    return 'ran'\n"


def provider(lam: Any, max_vcpus: int = 400) -> str:
    created = lam.create_capacity_provider(
        CapacityProviderName=f"cp-{uuid.uuid4().hex[:8]}",
        VpcConfig=VPC,
        PermissionsConfig=PERMISSIONS,
        CapacityProviderScalingConfig={"MaxVCpuCount": max_vcpus},
    )
    return str(created["CapacityProvider"]["CapacityProviderArn"])


def on(arn: str, **fields: Any) -> dict[str, Any]:
    return {LMI: {"CapacityProviderArn": arn, **fields}}


def create_lmi(lam: Any, name: str, arn: str, **kwargs: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": "python3.13",
        "Role": ROLE,
        "Handler": "app.handler",
        "Code": {"ZipFile": make_zip({"app.py": NEVER_RUN})},
        "CapacityProviderConfig": on(arn),
    }
    params.update(kwargs)
    result: dict[str, Any] = lam.create_function(**params)
    return result


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as exc:
        call()
    response: dict[str, Any] = exc.value.response
    return response


def test_function_on_a_capacity_provider(lam: Any, fname: str) -> None:
    arn = provider(lam)
    created = create_lmi(lam, fname, arn)
    assert created["MemorySize"] == 2048 and created["State"] == "ActiveNonInvocable"
    assert created["CapacityProviderConfig"] == on(
        arn, PerExecutionEnvironmentMaxConcurrency=16, ExecutionEnvironmentMemoryGiBPerVCpu=2.0
    )
    assert created["LoggingConfig"]["LogFormat"] == "JSON" and "SnapStart" not in created
    got = lam.get_function(FunctionName=fname)["Configuration"]
    assert got["CapacityProviderConfig"] == created["CapacityProviderConfig"]
    assert lam.get_function_configuration(FunctionName=fname)["State"] == "ActiveNonInvocable"
    published = lam.publish_version(FunctionName=fname)
    assert published["Version"] == "1" and published["State"] == "Active"
    assert published["CapacityProviderConfig"] == created["CapacityProviderConfig"]
    updated = lam.update_function_configuration(
        FunctionName=fname,
        MemorySize=4096,
        CapacityProviderConfig=on(arn, PerExecutionEnvironmentMaxConcurrency=8),
    )
    assert updated["CapacityProviderConfig"][LMI]["PerExecutionEnvironmentMaxConcurrency"] == 8
    for bad in (
        {"MemorySize": 1024},
        {"CapacityProviderConfig": on(arn, PerExecutionEnvironmentMaxConcurrency=1601)},
        {"CapacityProviderConfig": on(arn.rsplit(":", 1)[0] + ":gone")},
    ):
        with pytest.raises(ClientError):
            lam.update_function_configuration(FunctionName=fname, **bad)
    unchanged = lam.get_function_configuration(FunctionName=fname)
    assert unchanged["RevisionId"] == updated["RevisionId"]
    assert unchanged["CapacityProviderConfig"] == updated["CapacityProviderConfig"]
    version_1 = lam.get_function_configuration(FunctionName=fname, Qualifier="1")
    assert version_1["CapacityProviderConfig"] == created["CapacityProviderConfig"]
    assert version_1["MemorySize"] == 2048
    listed = lam.list_function_versions_by_capacity_provider(CapacityProviderName=arn)
    mine = [v for v in listed["FunctionVersions"] if f":function:{fname}:" in v["FunctionArn"]]
    assert mine == [
        {"FunctionArn": f"{created['FunctionArn']}:$LATEST", "State": "ActiveNonInvocable"},
        {"FunctionArn": f"{created['FunctionArn']}:1", "State": "Active"},
    ]
    provisioned = error_of(
        lambda: lam.put_provisioned_concurrency_config(
            FunctionName=fname, Qualifier="1", ProvisionedConcurrentExecutions=1
        )
    )
    assert provisioned["Error"]["Code"] == "InvalidParameterValueException"
    # $LATEST of a Managed Instances function does not run; published versions do.
    refused = error_of(lambda: lam.invoke(FunctionName=fname, Payload=b"{}"))
    assert refused["Error"]["Code"] == "NoPublishedVersionException"
    in_use = error_of(lambda: lam.delete_capacity_provider(CapacityProviderName=arn))
    assert in_use["Error"]["Code"] == "ResourceConflictException"
    assert lam.get_capacity_provider(CapacityProviderName=arn)["CapacityProvider"]["State"]
    lam.delete_function(FunctionName=fname)
    assert (
        lam.list_function_versions_by_capacity_provider(CapacityProviderName=arn)[
            "FunctionVersions"
        ]
        == []
    )
    lam.delete_capacity_provider(CapacityProviderName=arn)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"missing_provider": True}, "InvalidParameterValueException"),
        ({"CapacityProviderConfig": {LMI: {"CapacityProviderArn": "nope"}}}, "ValidationException"),
        ({"cpc": {"PerExecutionEnvironmentMaxConcurrency": 1601}}, "ValidationException"),
        ({"cpc": {"ExecutionEnvironmentMemoryGiBPerVCpu": 9.0}}, "ValidationException"),
        ({"MemorySize": 1024}, "InvalidParameterValueException"),
        (
            {"MemorySize": 4096, "cpc": {"ExecutionEnvironmentMemoryGiBPerVCpu": 8.0}},
            "InvalidParameterValueException",
        ),
        ({"Runtime": "python3.12"}, "InvalidParameterValueException"),
        ({"LoggingConfig": {"LogFormat": "Text"}}, "InvalidParameterValueException"),
    ],
)
def test_bad_provider_configuration_creates_nothing(
    lam: Any, fname: str, kwargs: dict[str, Any], code: str
) -> None:
    arn = provider(lam)
    if kwargs.pop("missing_provider", False):
        arn = arn.rsplit(":", 1)[0] + ":does-not-exist"
    extra = kwargs.pop("cpc", {})
    kwargs.setdefault("CapacityProviderConfig", on(arn, **extra))
    response = error_of(lambda: create_lmi(lam, fname, arn, **kwargs))
    assert response["Error"]["Code"] == code
    gone = error_of(lambda: lam.get_function(FunctionName=fname))
    assert gone["Error"]["Code"] == "ResourceNotFoundException"


def test_a_default_function_cannot_move_onto_a_provider(
    lam: Any, fname: str, create: Callable[..., dict[str, Any]]
) -> None:
    arn = provider(lam)
    create(fname)
    refused = error_of(
        lambda: lam.update_function_configuration(
            FunctionName=fname, CapacityProviderConfig=on(arn)
        )
    )
    assert refused["Error"]["Code"] == "InvalidParameterValueException"
    assert refused["Error"]["Message"] == (
        "CapacityProviderConfig isn't supported for Lambda Default functions."
    )
    assert "CapacityProviderConfig" not in lam.get_function_configuration(FunctionName=fname)
    lam.delete_function(FunctionName=fname)
    lam.delete_capacity_provider(CapacityProviderName=arn)


def test_function_scaling_config_round_trip_and_errors(
    server: LiveServer, lam: Any, fname: str, create: Callable[..., dict[str, Any]]
) -> None:
    arn = provider(lam)
    create_lmi(lam, fname, arn, Publish=True)
    unset = lam.get_function_scaling_config(FunctionName=fname, Qualifier="1")
    unset.pop("ResponseMetadata")
    assert unset == {"FunctionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{fname}:1"}
    put = lam.put_function_scaling_config(
        FunctionName=fname,
        Qualifier="1",
        FunctionScalingConfig={"MinExecutionEnvironments": 0, "MaxExecutionEnvironments": 2},
    )
    assert put["FunctionState"] == "Active"
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 202
    # One AWS CLI call: the same configuration as the CLI prints it.
    cli = aws(
        server,
        "lambda",
        "get-function-scaling-config",
        "--function-name",
        fname,
        "--qualifier",
        "1",
    )
    assert cli.returncode == 0, cli.stderr
    wanted = {"MinExecutionEnvironments": 0, "MaxExecutionEnvironments": 2}
    assert json.loads(cli.stdout) == {
        "FunctionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{fname}:1",
        "AppliedFunctionScalingConfig": wanted,
        "RequestedFunctionScalingConfig": wanted,
    }

    def code(**kw: Any) -> str:
        params = {"FunctionName": fname, "Qualifier": "1"}
        params.update(kw)
        return str(error_of(lambda: lam.put_function_scaling_config(**params))["Error"]["Code"])

    assert code(Qualifier="$LATEST") == "ValidationException"
    assert code(Qualifier="live") == "ValidationException"
    assert code(Qualifier="9") == "ResourceNotFoundException"
    assert code(FunctionName=fname + "-nope") == "ResourceNotFoundException"
    assert code(FunctionScalingConfig={"MaxExecutionEnvironments": 15001}) == "ValidationException"
    assert (
        code(FunctionScalingConfig={"MinExecutionEnvironments": 3, "MaxExecutionEnvironments": 1})
        == "InvalidParameterValueException"
    )
    default = fname + "-d"
    create(default, Publish=True)
    assert code(FunctionName=default) == "InvalidParameterValueException"
    # Nothing the refused calls asked for was stored.
    got = lam.get_function_scaling_config(FunctionName=fname, Qualifier="1")
    assert got["RequestedFunctionScalingConfig"] == wanted
    lam.delete_function(FunctionName=default)
    lam.delete_function(FunctionName=fname)
    lam.delete_capacity_provider(CapacityProviderName=arn)


def test_scaling_config_survives_a_restart(tmp_path: Path) -> None:
    from tests.conftest import live_server

    with live_server("sqlite", tmp_path) as live:
        lam = live.client()
        arn = provider(lam)
        create_lmi(lam, "kept", arn, Publish=True)
        lam.put_function_scaling_config(
            FunctionName="kept",
            Qualifier="1",
            FunctionScalingConfig={"MaxExecutionEnvironments": 0},
        )
        live.stop()
        live.start()
        got = lam.get_function_scaling_config(FunctionName="kept", Qualifier="1")
        assert got["AppliedFunctionScalingConfig"] == {"MaxExecutionEnvironments": 0}
        # ... and is applied again: no environment may run.
        refused = error_of(lambda: lam.invoke(FunctionName="kept", Qualifier="1", Payload=b"{}"))
        assert refused["Error"]["Code"] == "TooManyRequestsException"


def test_max_execution_environments_zero_refuses_every_invocation(lam: Any, fname: str) -> None:
    arn = provider(lam)
    create_lmi(lam, fname, arn, Publish=True)
    lam.put_function_scaling_config(
        FunctionName=fname, Qualifier="1", FunctionScalingConfig={"MaxExecutionEnvironments": 0}
    )
    refused = error_of(lambda: lam.invoke(FunctionName=fname, Qualifier="1", Payload=b"{}"))
    assert refused["Error"]["Code"] == "TooManyRequestsException"
    assert refused["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert refused["Reason"] == "ConcurrentInvocationLimitExceeded"
    lam.delete_function(FunctionName=fname)
    lam.delete_capacity_provider(CapacityProviderName=arn)


BARRIER_APP = """import os, time
def handler(event, context):
    shared = os.environ["SHARED"]
    open(os.path.join(shared, "arrived-" + context.aws_request_id), "w").close()
    deadline = time.time() + 20
    while not os.path.exists(os.path.join(shared, "release")) and time.time() < deadline:
        time.sleep(0.01)
    return {"pid": os.getpid(), "released": os.path.exists(os.path.join(shared, "release"))}
"""


def cpu_quota_us(pid: int) -> int:
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if "cpu" in controllers.split(","):
                with open(f"/sys/fs/cgroup/cpu{path}/cpu.cfs_quota_us") as quota:
                    return int(quota.read())
    raise AssertionError("no cpu cgroup")


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def arrived(shared: Path) -> int:
    return len(list(shared.glob("arrived-*")))


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)  # admission does not use the store
@pytest.mark.parametrize("runtime", ["provided.al2023", "python3.13"])
def test_environment_serves_n_at_once_and_refuses_the_next(
    server: LiveServer, lam: Any, fname: str, shared_dir: Path, runtime: str
) -> None:
    """A custom runtime (awslambdaric polling /next n times) and the built-in Python runtime
    (one worker process per concurrent invocation) behave alike."""
    assert server.store_url.startswith("sqlite")
    files: dict[str, Any] = {"app.py": BARRIER_APP}
    if runtime.startswith("provided"):
        pytest.importorskip("awslambdaric")
        files["bootstrap"] = (
            f'#!/bin/sh\nexec {sys.executable} -m awslambdaric "$_HANDLER"\n',
            0o755,
        )
    n = 3
    arn = provider(lam, max_vcpus=2)
    lam.create_function(
        FunctionName=fname,
        Runtime=runtime,
        Role=ROLE,
        Handler="app.handler",
        Timeout=30,
        Environment={"Variables": {"SHARED": str(shared_dir)}},
        CapacityProviderConfig=on(arn, PerExecutionEnvironmentMaxConcurrency=n),
        Code={"ZipFile": zip_files(files)},
        Publish=True,
    )
    lam.put_function_scaling_config(
        FunctionName=fname,
        Qualifier="1",
        FunctionScalingConfig={"MinExecutionEnvironments": 1, "MaxExecutionEnvironments": 1},
    )
    target = Target(server.endpoint, REGION, ACCESS_KEY, SECRET_KEY)

    def environments() -> list[dict[str, Any]]:
        _, _, body = signed_get(target, "/_lambdahost/v1/environments")
        return [
            e
            for e in json.loads(body)["Environments"]
            if (e["Key"] or "").startswith(f"{fname}:1:")
        ]

    # MinExecutionEnvironments: one environment is initialised before any invocation.
    wait_for(lambda: len(environments()) == 1)

    results: list[tuple[str, Any]] = []
    lock = threading.Lock()

    def call() -> None:
        try:
            resp = lam.invoke(FunctionName=fname, Qualifier="1", Payload=b"{}")
            outcome: tuple[str, Any] = ("ok", json.loads(resp["Payload"].read()))
        except ClientError as error:
            outcome = (error.response["Error"]["Code"], error.response.get("Reason"))
        with lock:
            results.append(outcome)

    # 2n clients at once: exactly n run together in the one environment, n are refused.
    threads = [threading.Thread(target=call) for _ in range(2 * n)]
    for thread in threads:
        thread.start()
    wait_for(lambda: arrived(shared_dir) == n and len(results) == n)
    assert (
        sorted(results) == [("TooManyRequestsException", "ConcurrentInvocationLimitExceeded")] * n
    )
    # An Event invocation refused the same way is retried like any throttle.
    event = lam.invoke(FunctionName=fname, Qualifier="1", InvocationType="Event", Payload=b"{}")
    assert event["StatusCode"] == 202
    time.sleep(0.3)
    assert arrived(shared_dir) == n  # still held back: the environment is full
    (shared_dir / "release").touch()
    for thread in threads:
        thread.join(30)
    ok = [r[1] for r in results if r[0] == "ok"]
    assert len(ok) == n and all(r["released"] for r in ok)
    assert len({r["pid"] for r in ok}) == n, "n workers in the one environment"
    if os.path.exists("/sys/fs/cgroup/cpu/cpu.shares"):  # cgroup v1 cpu hierarchy
        # 2048 MB at 2 GiB per vCPU: the environment may use one vCPU, no more.
        assert cpu_quota_us(ok[0]["pid"]) == 100_000
    wait_for(lambda: arrived(shared_dir) == n + 1)  # the retried Event invocation ran
    assert len(environments()) == 1  # never more than MaxExecutionEnvironments

    def stats() -> dict[str, Any]:
        _, _, body = signed_get(target, "/_lambdahost/v1/stats")
        found: dict[str, Any] = next(
            r for r in json.loads(body)["Functions"] if r["FunctionName"] == fname
        )
        return found

    wait_for(lambda: stats()["ConcurrentExecutions"] == 0)
    assert stats()["Throttles"] >= n + 1 and stats()["Invocations"] == n + 1
    shown = cli(server.endpoint, "stats", fname)  # `lambdahost stats` shows them as for others
    assert shown.returncode == 0, shown.stderr
    row = shown.stdout.splitlines()[1].split()
    assert row[0] == fname and int(row[4]) == n + 1 and int(row[5]) == stats()["Throttles"]
    lam.delete_function(FunctionName=fname)
    lam.delete_capacity_provider(CapacityProviderName=arn)
