"""Fixtures for durable-function tests against a live server, on both store dialects.

``server`` is one server per dialect per session; restart tests build their own
(``fresh_server``) because they kill it. Functions write evidence under a
directory in /var/tmp (their /tmp is private) named by ``EVIDENCE_DIR``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lambdahost.testing import ROLE, LiveServer, make_zip
from tests.conftest import live_server

SERVER_ARGS = ("--idle-timeout", "60", "--retry-time-scale", "0.05")
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED")


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp(f"durable-{request.param}")
    with live_server(request.param, data_dir, *SERVER_ARGS) as live:
        yield live


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """A server of its own, for tests that kill it."""
    with live_server(request.param, tmp_path, *SERVER_ARGS) as live:
        yield live


@pytest.fixture
def lam(server: LiveServer) -> Any:
    return server.client()


@pytest.fixture
def evidence() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lambdahost-durable-", dir="/var/tmp"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def read_evidence(folder: Path) -> list[str]:
    file = folder / "evidence.log"
    return file.read_text().splitlines() if file.exists() else []


def create_durable(
    client: Any,
    source: str,
    evidence: Path | None = None,
    *,
    durable: bool = True,
    name: str | None = None,
    timeout: int = 30,
    config: dict[str, Any] | None = None,
) -> str:
    name = name or f"dur-{uuid.uuid4().hex[:10]}"
    params: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "app.handler",
        "Timeout": timeout,
        "Code": {"ZipFile": make_zip({"app.py": source})},
    }
    if evidence is not None:
        params["Environment"] = {"Variables": {"EVIDENCE_DIR": str(evidence)}}
    if durable:
        params["DurableConfig"] = config or {"ExecutionTimeout": 300, "RetentionPeriodInDays": 1}
    client.create_function(**params)
    return name


@pytest.fixture
def make_fn(lam: Any, evidence: Path) -> Callable[..., str]:
    def _make(source: str, **kwargs: Any) -> str:
        return create_durable(lam, source, evidence, **kwargs)

    return _make


def start(client: Any, name: str, payload: Any, qualifier: str = "$LATEST", **kw: Any) -> str:
    """Event-invoke a durable function; returns the execution ARN."""
    reply = client.invoke(
        FunctionName=name,
        Qualifier=qualifier,
        InvocationType="Event",
        Payload=json.dumps(payload).encode(),
        **kw,
    )
    assert reply["StatusCode"] == 202
    return str(reply["DurableExecutionArn"])


def wait_for(
    client: Any, arn: str, statuses: tuple[str, ...] = TERMINAL, timeout: float = 30.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found: dict[str, Any] = client.get_durable_execution(DurableExecutionArn=arn)
        if found["Status"] in statuses or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def wait_evidence(folder: Path, prefix: str, count: int = 1, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        lines = [line for line in read_evidence(folder) if line.startswith(prefix)]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def history(client: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    marker = None
    while True:
        kwargs: dict[str, Any] = {"DurableExecutionArn": arn, "MaxItems": 1000}
        if marker:
            kwargs["Marker"] = marker
        page = client.get_durable_execution_history(**kwargs)
        events.extend(page["Events"])
        marker = page.get("NextMarker")
        if not marker:
            return events


def event_types(client: Any, arn: str) -> list[str]:
    return [e["EventType"] for e in history(client, arn)]
