"""Sent messages are in the store before SendMessage returns: they survive kill -9."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdahost.testing import LiveServer
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


def test_acknowledged_messages_survive_kill9(restartable: LiveServer) -> None:
    live = restartable
    live.start()
    sqs = live.client("sqs")
    url = sqs.create_queue(QueueName="durable", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]

    def send(n: int) -> str:
        client = live.client("sqs")
        return str(client.send_message(QueueUrl=url, MessageBody=f"m{n}")["MessageId"])

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(send, range(40)))
    in_flight = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=5)["Messages"]
    assert len(in_flight) == 5
    live.kill9()
    live.start()
    sqs = live.client("sqs")
    seen: set[str] = set()
    for _ in range(20):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
        for message in got.get("Messages", []):
            seen.add(message["MessageId"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if seen == ids:
            break
    assert seen == ids
