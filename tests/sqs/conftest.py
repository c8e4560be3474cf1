"""Fixtures for SQS tests: the live servers of tests/integration, an sqs client, fresh queues."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from lambdahost.testing import LiveServer
from tests.integration.conftest import server  # noqa: F401  (re-exported fixture)


@pytest.fixture
def sqs(server: LiveServer) -> Any:  # noqa: F811
    return server.client("sqs")


@pytest.fixture
def new_queue(sqs: Any) -> Callable[..., tuple[str, str]]:
    """Create a uniquely named queue; return (url, arn)."""

    def make(prefix: str = "q", fifo: bool = False, **attributes: str) -> tuple[str, str]:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}" + (".fifo" if fifo else "")
        if fifo:
            attributes.setdefault("FifoQueue", "true")
        url: str = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        return url, arn

    return make
