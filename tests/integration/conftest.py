"""Fixtures for tests against a live server: one server per store dialect per session."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lambdahost.testing import ROLE, LiveServer, make_zip
from tests.conftest import live_server


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    data_dir: Path = tmp_path_factory.mktemp(f"server-{request.param}")
    with live_server(
        request.param, data_dir, "--idle-timeout", "30", "--retry-time-scale", "0.01"
    ) as live:
        yield live


@pytest.fixture
def lam(server: LiveServer) -> Any:
    return server.client()


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory both the tests and functions can write to.

    Functions get a private /tmp, so this lives elsewhere (/var/tmp).
    """
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="lambdahost-test-", dir="/var/tmp"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def fname() -> str:
    return f"fn-{uuid.uuid4().hex[:10]}"


HELLO = """
import json, os
def handler(event, context):
    print("hello from", context.function_name)
    return {"event": event, "request_id": context.aws_request_id}
"""


@pytest.fixture
def create(lam: Any) -> Callable[..., dict[str, Any]]:
    """Create a function from source files (default: the HELLO handler)."""

    def _create(
        name: str, files: dict[str, str | bytes] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": "python3.12",
            "Role": ROLE,
            "Handler": "app.handler",
            "Code": {"ZipFile": make_zip(files or {"app.py": HELLO})},
        }
        params.update(kwargs)
        result: dict[str, Any] = lam.create_function(**params)
        return result

    return _create
