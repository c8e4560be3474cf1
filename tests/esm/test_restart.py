"""Event source mappings survive a restart and keep consuming (both store dialects)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdahost.testing import ROLE, LiveServer, make_zip
from tests.conftest import drop_pg_schema, fresh_pg_url
from tests.esm.conftest import RECORDER, bodies, wait_for, wait_state


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


def test_mapping_survives_restart(restartable: LiveServer, shared_dir: Path) -> None:
    live = restartable
    live.start()
    lam, sqs = live.client(), live.client("sqs")
    name = f"fn-{uuid.uuid4().hex[:8]}"
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": make_zip({"app.py": RECORDER})},
        Environment={"Variables": {"RECORD_DIR": str(shared_dir)}},
    )
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    active = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=4)
    parked_queue = sqs.create_queue(QueueName="parked")["QueueUrl"]
    parked_arn = sqs.get_queue_attributes(QueueUrl=parked_queue, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    parked = lam.create_event_source_mapping(
        EventSourceArn=parked_arn, FunctionName=name, Enabled=False
    )
    wait_state(lam, active["UUID"], "Enabled")
    wait_state(lam, parked["UUID"], "Disabled")
    live.stop()
    live.start()
    lam, sqs = live.client(), live.client("sqs")
    after = wait_state(lam, active["UUID"], "Enabled")
    assert after["BatchSize"] == 4 and after["FunctionArn"] == active["FunctionArn"]
    assert wait_state(lam, parked["UUID"], "Disabled")["EventSourceArn"] == parked_arn
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"after-{n}")
    sqs.send_message(QueueUrl=parked_queue, MessageBody="stays")
    wait_for(lambda: sorted(bodies(shared_dir)) == ["after-0", "after-1", "after-2"])
