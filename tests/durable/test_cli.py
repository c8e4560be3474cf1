"""The lambdahost CLI for durable executions: ls, history, callback, stop."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lambdahost.testing import ACCESS_KEY, SECRET_KEY
from tests.durable import handlers as H
from tests.durable.conftest import start, wait_evidence, wait_for


def cli(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        LAMBDAHOST_ENDPOINT=endpoint,
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION="us-east-1",
    )
    return subprocess.run(
        [sys.executable, "-m", "lambdahost.cli.main", "durable", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_durable_cli(server: Any, lam: Any, make_fn: Callable[..., str], evidence: Path) -> None:
    name = make_fn(H.CALLBACK)
    arn = start(lam, name, {"timeout": 60})
    (line,) = wait_evidence(evidence, "callback ")
    callback_id = line.split()[1]
    listed = cli(server.endpoint, "ls", name)
    assert listed.returncode == 0, listed.stderr
    assert "RUNNING" in listed.stdout and arn in listed.stdout
    sent = cli(server.endpoint, "callback", callback_id, "--result", '"yes"')
    assert sent.returncode == 0 and sent.stdout.strip() == "callback succeeded", sent.stderr
    assert wait_for(lam, arn)["Status"] == "SUCCEEDED"
    history = cli(server.endpoint, "history", arn)
    assert history.returncode == 0, history.stderr
    lines = history.stdout.splitlines()
    assert lines[0].startswith("+    0.000s") and "ExecutionStarted" in lines[0]
    assert any("CallbackSucceeded" in row for row in lines) and "ExecutionSucceeded" in lines[-1]

    second = start(lam, name, {"timeout": 60})
    wait_for(lam, second, ("RUNNING",))
    stopped = cli(server.endpoint, "stop", second, "--message", "no longer needed")
    assert stopped.returncode == 0 and stopped.stdout.startswith("stopped at"), stopped.stderr
    assert wait_for(lam, second)["Status"] == "STOPPED"
    assert "STOPPED" in cli(server.endpoint, "ls", name, "--status", "STOPPED").stdout
    unknown = cli(server.endpoint, "callback", "no-such-callback")
    assert unknown.returncode == 1 and unknown.stderr.startswith("Error: ")
    assert "Traceback" not in unknown.stderr
