"""kill -9 the server at the worst moments; after a restart every execution completes.

No step whose checkpoint was acknowledged runs again: the evidence file (written by
the step bodies themselves) shows how often each body really ran.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lambdahost.testing import LiveServer
from tests.durable import handlers as H
from tests.durable.conftest import (
    create_durable,
    event_types,
    read_evidence,
    start,
    wait_evidence,
    wait_for,
)


def _restart(live: LiveServer) -> Any:
    live.kill9()
    live.start()
    return live.client()


def _wait_event(client: Any, arn: str, kind: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while kind not in event_types(client, arn):
        assert time.monotonic() < deadline, f"no {kind} event"
        time.sleep(0.05)


def test_restart_while_waiting(fresh_server: LiveServer, evidence: Path) -> None:
    lam = fresh_server.client()
    name = create_durable(lam, H.STEPS_AND_WAIT, evidence)
    arn = start(lam, name, {"a": 1, "wait": 2})
    _wait_event(lam, arn, "InvocationCompleted")
    lam = _restart(fresh_server)
    found = wait_for(lam, arn)
    assert found["Status"] == "SUCCEEDED", found
    assert read_evidence(evidence) == ["add 1 1", "add 2 10"]


def test_restart_during_a_step(fresh_server: LiveServer, evidence: Path) -> None:
    lam = fresh_server.client()
    name = create_durable(lam, H.LONG_STEP, evidence)
    arn = start(lam, name, {"sleep": 2})
    wait_evidence(evidence, "slow-start")
    lam = _restart(fresh_server)
    found = wait_for(lam, arn)
    assert found["Status"] == "SUCCEEDED", found
    assert found["Result"] == "[1, 2, 3]"
    lines = read_evidence(evidence)
    assert lines.count("first") == 1
    assert lines.count("third") == 1
    assert lines.count("slow-start") == 2  # not acknowledged: at-least-once runs it again


def test_restart_between_checkpoints(fresh_server: LiveServer, evidence: Path) -> None:
    lam = fresh_server.client()
    name = create_durable(lam, H.BETWEEN_CHECKPOINTS, evidence)
    arn = start(lam, name, {"sleep": 2})
    wait_evidence(evidence, "between")
    lam = _restart(fresh_server)
    found = wait_for(lam, arn)
    assert found["Status"] == "SUCCEEDED", found
    lines = read_evidence(evidence)
    assert lines.count("a") == 1
    assert lines.count("b") == 1
    assert lines.count("between") == 2


def test_restart_with_an_open_callback(fresh_server: LiveServer, evidence: Path) -> None:
    lam = fresh_server.client()
    name = create_durable(lam, H.CALLBACK, evidence)
    arn = start(lam, name, {"timeout": 120})
    (line,) = wait_evidence(evidence, "callback ")
    _wait_event(lam, arn, "InvocationCompleted")
    lam = _restart(fresh_server)
    lam.send_durable_execution_callback_success(CallbackId=line.split()[1], Result=b"42")
    found = wait_for(lam, arn)
    assert found["Status"] == "SUCCEEDED", found
    assert found["Result"] == '{"answer": "42"}'


def test_restart_keeps_callback_timeouts(fresh_server: LiveServer, evidence: Path) -> None:
    lam = fresh_server.client()
    name = create_durable(lam, H.CALLBACK, evidence)
    arn = start(lam, name, {"timeout": 2})
    wait_evidence(evidence, "callback ")
    _wait_event(lam, arn, "InvocationCompleted")
    lam = _restart(fresh_server)
    found = wait_for(lam, arn)
    assert found["Status"] == "SUCCEEDED", found
    assert '"error": "CallbackTimeoutError"' in found["Result"]
