"""Provisioned concurrency: environments exist before the first invoke, which has no Init Duration."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from lambdahost.cli.client import Target, signed_get
from lambdahost.testing import ACCESS_KEY, REGION, SECRET_KEY, LiveServer
from tests.integration.test_cli import cli

INIT_AWARE = (
    "import os, time\n"
    "INIT_TYPE = os.environ.get('AWS_LAMBDA_INITIALIZATION_TYPE')\n"
    "def handler(event, context):\n"
    "    return {'init_type': INIT_TYPE, 'pid': os.getpid()}\n"
)


def wait_status(
    lam: Any, name: str, qualifier: str, status: str, timeout: float = 20
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    config: dict[str, Any] = {}
    while time.monotonic() < deadline:
        config = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
        if config["Status"] == status:
            return config
        time.sleep(0.05)
    raise AssertionError(f"status stayed {config.get('Status')}: {config}")


def environments(server: LiveServer, name: str) -> list[dict[str, Any]]:
    _, _, body = signed_get(
        Target(server.endpoint, REGION, ACCESS_KEY, SECRET_KEY), "/_lambdahost/v1/environments"
    )
    return [e for e in json.loads(body)["Environments"] if str(e["Key"]).startswith(f"{name}:")]


def test_provisioned_environments_serve_without_cold_start(
    server: LiveServer, lam: Any, create: Callable[..., Any], fname: str
) -> None:
    create(fname, files={"app.py": INIT_AWARE}, Publish=True)
    lam.create_alias(FunctionName=fname, Name="live", FunctionVersion="1")
    put = lam.put_provisioned_concurrency_config(
        FunctionName=fname, Qualifier="live", ProvisionedConcurrentExecutions=2
    )
    assert put["RequestedProvisionedConcurrentExecutions"] == 2
    assert put["Status"] in ("IN_PROGRESS", "READY")
    ready = wait_status(lam, fname, "live", "READY")
    assert ready["AllocatedProvisionedConcurrentExecutions"] == 2
    assert ready["AvailableProvisionedConcurrentExecutions"] == 2
    assert len(environments(server, fname)) == 2, "initialised before any invoke"
    out = lam.invoke(FunctionName=fname, Qualifier="live", LogType="Tail")
    assert json.loads(out["Payload"].read())["init_type"] == "provisioned-concurrency"
    report = [
        x
        for x in base64.b64decode(out["LogResult"]).decode().splitlines()
        if x.startswith("REPORT")
    ]
    assert report and "Init Duration" not in report[0]
    # `lambdahost stats` shows the provisioned environments in use: none now, both allocated.
    shown = cli(server.endpoint, "stats", fname)
    assert shown.returncode == 0, shown.stderr
    header, row = shown.stdout.splitlines()[:2]
    assert header.split()[-1] == "PROVISIONED" and row.split()[-1] == "0/2"
    listed = lam.list_provisioned_concurrency_configs(FunctionName=fname)[
        "ProvisionedConcurrencyConfigs"
    ]
    assert [c["FunctionArn"].rsplit(":", 1)[1] for c in listed] == ["live"]
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.put_provisioned_concurrency_config(
            FunctionName=fname, Qualifier="1", ProvisionedConcurrentExecutions=1
        )
    lam.delete_provisioned_concurrency_config(FunctionName=fname, Qualifier="live")
    with pytest.raises(lam.exceptions.ProvisionedConcurrencyConfigNotFoundException):
        lam.get_provisioned_concurrency_config(FunctionName=fname, Qualifier="live")


def test_provisioned_concurrency_validation(
    lam: Any, create: Callable[..., Any], fname: str
) -> None:
    create(fname, Publish=True)
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.put_provisioned_concurrency_config(
            FunctionName=fname, Qualifier="$LATEST", ProvisionedConcurrentExecutions=1
        )
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.put_provisioned_concurrency_config(
            FunctionName=fname, Qualifier="5", ProvisionedConcurrentExecutions=1
        )
    lam.put_function_concurrency(FunctionName=fname, ReservedConcurrentExecutions=1)
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.put_provisioned_concurrency_config(
            FunctionName=fname, Qualifier="1", ProvisionedConcurrentExecutions=2
        )
    with pytest.raises(lam.exceptions.ProvisionedConcurrencyConfigNotFoundException):
        lam.get_provisioned_concurrency_config(FunctionName=fname, Qualifier="1")


def test_failed_init_reports_failed(lam: Any, create: Callable[..., Any], fname: str) -> None:
    create(fname, files={"app.py": "raise RuntimeError('no config')\n"}, Publish=True)
    lam.put_provisioned_concurrency_config(
        FunctionName=fname, Qualifier="1", ProvisionedConcurrentExecutions=1
    )
    failed = wait_status(lam, fname, "1", "FAILED")
    assert "no config" in failed["StatusReason"]
