"""Shared test configuration: store selection and the PostgreSQL rule for CI.

Tests that need PostgreSQL use the ``pg_url`` fixture. Without a reachable
server they are skipped on a developer machine, but with ``CI=true`` they fail:
CI must never go green with the PostgreSQL tests silently skipped.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from lambdahost.testing import LiveServer

PG_BASE = os.environ.get("LAMBDAHOST_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_BASE, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:  # any failure means "not reachable"
        return str(exc)


_PG_PROBLEM: str | bool | None = False


def require_postgres() -> None:
    global _PG_PROBLEM
    if _PG_PROBLEM is False:
        _PG_PROBLEM = _pg_reachable()
    if _PG_PROBLEM:
        message = f"PostgreSQL is not reachable at {PG_BASE}: {_PG_PROBLEM}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)", pytrace=False)
        pytest.skip(message)


def fresh_pg_url() -> str:
    """A PostgreSQL URL with a schema of its own (dropped by ``drop_pg_schema``)."""
    require_postgres()
    return f"{PG_BASE}?schema=lh_test_{uuid.uuid4().hex[:12]}"


def drop_pg_schema(url: str) -> None:
    import psycopg

    schema = url.rsplit("schema=", 1)[1]
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """A fresh, empty store URL for each dialect."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/store.db"
        return
    url = fresh_pg_url()
    try:
        yield url
    finally:
        drop_pg_schema(url)


@contextlib.contextmanager
def live_server(dialect: str, data_dir: Path, *extra_args: str) -> Iterator[LiveServer]:
    """A started server on a fresh store of ``dialect``; stopped and cleaned up afterwards."""
    from lambdahost.testing import LiveServer

    url = f"sqlite:///{data_dir}/store.db" if dialect == "sqlite" else fresh_pg_url()
    live = LiveServer(data_dir=data_dir, store_url=url, extra_args=extra_args)
    live.start()
    try:
        yield live
    finally:
        live.stop()
        if dialect == "postgres":
            drop_pg_schema(url)
