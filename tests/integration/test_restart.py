"""Restarts lose nothing: functions, versions, aliases, code and accepted Event invocations."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdahost.testing import ROLE, LiveServer, make_zip
from tests.conftest import drop_pg_schema, fresh_pg_url


@pytest.fixture(params=["sqlite", "postgres"])
def restartable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path}/store.db" if request.param == "sqlite" else fresh_pg_url()
    live = LiveServer(data_dir=tmp_path / "data", store_url=url)
    try:
        yield live
    finally:
        live.stop()
        if request.param == "postgres":
            drop_pg_schema(url)


def test_state_survives_restart(restartable: LiveServer, tmp_path: Path) -> None:
    live = restartable
    live.start()
    lam = live.client()
    code = make_zip({"app.py": "def handler(e, c):\n    return 'v1'\n"})
    lam.create_function(
        FunctionName="keep",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": code},
        Tags={"t": "1"},
    )
    lam.publish_version(FunctionName="keep")
    lam.create_alias(FunctionName="keep", Name="live", FunctionVersion="1")
    live.stop()
    # Remove the extracted code cache: the store alone must be enough.
    import shutil

    shutil.rmtree(live.data_dir / "code", ignore_errors=True)
    live.start()
    lam = live.client()
    assert lam.get_function(FunctionName="keep")["Tags"] == {"t": "1"}
    assert [
        v["Version"] for v in lam.list_versions_by_function(FunctionName="keep")["Versions"]
    ] == ["$LATEST", "1"]
    assert lam.get_alias(FunctionName="keep", Name="live")["FunctionVersion"] == "1"
    assert json.loads(lam.invoke(FunctionName="keep", Qualifier="live")["Payload"].read()) == "v1"


def test_accepted_events_survive_kill9(restartable: LiveServer, shared_dir: Path) -> None:
    live = restartable
    live.start()
    lam = live.client()
    marker = shared_dir / "events.log"
    slow = (
        "import time\n"
        "def handler(e, c):\n"
        "    time.sleep(0.5)\n"
        f"    open({str(marker)!r}, 'a').write(str(e['n']) + '\\n')\n"
    )
    lam.create_function(
        FunctionName="evt",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": make_zip({"app.py": slow})},
        Timeout=10,
    )
    count = 30
    for n in range(count):
        assert (
            lam.invoke(
                FunctionName="evt", InvocationType="Event", Payload=json.dumps({"n": n}).encode()
            )["StatusCode"]
            == 202
        )
    live.kill9()
    live.start()
    deadline = time.monotonic() + 60
    seen: set[int] = set()
    while time.monotonic() < deadline:
        if marker.exists():
            seen = {int(x) for x in marker.read_text().split()}
        if len(seen) == count:
            break
        time.sleep(0.2)
    assert seen == set(range(count)), f"lost events: {set(range(count)) - seen}"
