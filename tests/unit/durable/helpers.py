"""Builders for the pure durable core: an execution, an invocation, checkpoint calls."""

from __future__ import annotations

import itertools
from typing import Any

from lambdahost.core.clock import FakeClock
from lambdahost.durable.ids import ExecutionArn
from lambdahost.durable.journal import CheckpointResult, Target, checkpoint
from lambdahost.durable.lifecycle import begin_invocation, start_execution
from lambdahost.durable.model import Execution
from lambdahost.durable.updates import parse_updates

BOOT = 7
ARN = ExecutionArn("aws", "us-east-1", "123456789012", "fn", "1", "run-1", "exec-1")


def new_execution(
    clock: FakeClock, payload: str = '{"a": 1}', config: dict[str, Any] | None = None
) -> Execution:
    ex, _ = start_execution(
        ARN,
        input_payload=payload,
        config=config or {"ExecutionTimeout": 600, "RetentionPeriodInDays": 3},
        now=clock.time(),
    )
    return ex


def invoke(ex: Execution, clock: FakeClock) -> str:
    """Begin an invocation; returns its first checkpoint token."""
    event = begin_invocation(ex, clock.time(), BOOT, "req-1")
    return str(event["CheckpointToken"])


class Caller:
    """Plays the SDK: sends checkpoints with the newest token."""

    def __init__(self, ex: Execution, clock: FakeClock) -> None:
        self.ex = ex
        self.clock = clock
        self.token = invoke(ex, clock)
        self.ids = itertools.count(1)

    def send(
        self,
        *updates: dict[str, Any],
        client_token: str | None = None,
        token: str | None = None,
        targets: dict[str, Target] | None = None,
    ) -> CheckpointResult:
        result = checkpoint(
            self.ex,
            token=token or self.token,
            client_token=client_token,
            updates=parse_updates(list(updates)),
            now=self.clock.time(),
            boot=BOOT,
            targets=targets or {},
            new_id=lambda: f"child{next(self.ids)}",
            new_callback_id=lambda: f"cb{next(self.ids)}",
        )
        new_token = result.response.get("CheckpointToken")
        if new_token:
            self.token = new_token
        return result

    def ops(self, result: CheckpointResult) -> dict[str, dict[str, Any]]:
        return {op["Id"]: op for op in result.response["NewExecutionState"]["Operations"]}


def step(op_id: str, action: str, **extra: Any) -> dict[str, Any]:
    return {
        "Id": op_id,
        "Type": "STEP",
        "Action": action,
        "Name": op_id,
        "SubType": "Step",
        **extra,
    }


def wait(op_id: str, seconds: int) -> dict[str, Any]:
    return {
        "Id": op_id,
        "Type": "WAIT",
        "Action": "START",
        "SubType": "Wait",
        "WaitOptions": {"WaitSeconds": seconds},
    }
