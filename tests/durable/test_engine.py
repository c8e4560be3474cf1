"""The engine in-process on a real store (both dialects), with a FakeClock and a scripted handler.

The scripted handler plays the SDK: it reads the durable event, calls the
engine's CheckpointDurableExecution and returns a status envelope. No
sandbox, no sockets, no sleeps: timers are fired with ``run_due`` after the
fake clock moves.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from lambdahost.app.functions import Resolved
from lambdahost.app.invoke import InvokeReply
from lambdahost.app.storethread import StoreThread
from lambdahost.core.arns import ArnFactory
from lambdahost.core.clock import FakeClock
from lambdahost.durable import frontend
from lambdahost.durable.engine import DurableEngine
from lambdahost.durable.model import ExecutionStatus
from lambdahost.settings import Settings
from lambdahost.store.repos import VersionRow

Script = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def run(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test on a fresh event loop (no asyncio plugin needed)."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


CONFIG = {"DurableConfig": {"ExecutionTimeout": 600, "RetentionPeriodInDays": 1}}


class FakeInvoker:
    """Resolves every name to a durable function and runs a script per invocation."""

    def __init__(self) -> None:
        self.script: Script | None = None
        self.calls = 0
        self.running = 0
        self.max_running = 0

    async def resolve(self, name: str, qualifier: str | None) -> Resolved:
        version = qualifier or "$LATEST"
        return Resolved(VersionRow(name, version, CONFIG, "rev"), version, name)

    async def invoke_sync(
        self, resolved: Resolved, payload: bytes, *, request_id: str | None = None
    ) -> InvokeReply:
        assert self.script is not None
        self.calls += 1
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            output = await self.script(json.loads(payload))
        finally:
            self.running -= 1
        return InvokeReply(request_id or "", json.dumps(output).encode(), None, "1", None)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_800_000_000.0)


@pytest.fixture
def store(store_url: str) -> Iterator[StoreThread]:
    thread = StoreThread(store_url)
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()


def make_engine(store: StoreThread, clock: FakeClock, tmp_path: Path) -> DurableEngine:
    platform = SimpleNamespace(
        clock=clock,
        store=store,
        settings=Settings(data_dir=tmp_path, event_time_scale=0.01),
        arns=ArnFactory("us-east-1", "123456789012"),
        invoker=FakeInvoker(),
    )
    return DurableEngine(cast(Any, platform))


def invoker(engine: DurableEngine) -> FakeInvoker:
    return cast(FakeInvoker, engine.platform.invoker)


async def begin(engine: DurableEngine, payload: str = "{}", name: str = "run-1") -> str:
    resolved = await invoker(engine).resolve("fn", "1")
    ex = await frontend.start_or_reuse(engine, resolved, name, payload)
    return ex.arn


def ops_of(event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["Id"]: op for op in event["InitialExecutionState"]["Operations"]}


async def checkpoint(engine: DurableEngine, event: dict[str, Any], *updates: Any) -> dict[str, Any]:
    return await engine.api.checkpoint(
        event["DurableExecutionArn"],
        {"CheckpointToken": event["CheckpointToken"], "Updates": list(updates)},
    )


WAIT = {"Id": "w1", "Type": "WAIT", "Action": "START", "WaitOptions": {"WaitSeconds": 2}}


@run
async def test_a_wait_is_a_stored_timer_and_resumes_the_handler(
    store: StoreThread, clock: FakeClock, tmp_path: Path
) -> None:
    engine = make_engine(store, clock, tmp_path)

    async def handler(event: dict[str, Any]) -> dict[str, Any]:
        wait = ops_of(event).get("w1")
        if wait is None:
            await checkpoint(engine, event, WAIT)
            return {"Status": "PENDING"}
        assert wait["Status"] == "SUCCEEDED"
        assert event["UpdatedOperationIds"] == ["w1"]
        return {"Status": "SUCCEEDED", "Result": '"done"'}

    invoker(engine).script = handler
    arn = await begin(engine)
    await engine.idle()
    assert invoker(engine).calls == 1
    clock.advance(1.9)
    assert await engine.run_due() == 0
    clock.advance(0.1)
    assert await engine.run_due() == 1
    await engine.idle()
    ex = await engine.get(arn)
    assert ex is not None and ex.status is ExecutionStatus.SUCCEEDED
    assert ex.result == '"done"'
    assert invoker(engine).calls == 2


@run
async def test_triggers_during_an_invocation_are_coalesced(
    store: StoreThread, clock: FakeClock, tmp_path: Path
) -> None:
    engine = make_engine(store, clock, tmp_path)
    release = asyncio.Event()
    callbacks: list[str] = []

    async def handler(event: dict[str, Any]) -> dict[str, Any]:
        ops = ops_of(event)
        if "a" not in ops:
            start = [{"Id": i, "Type": "CALLBACK", "Action": "START"} for i in ("a", "b")]
            reply = await checkpoint(engine, event, *start)
            callbacks.extend(
                op["CallbackDetails"]["CallbackId"]
                for op in reply["NewExecutionState"]["Operations"]
            )
            await release.wait()
            return {"Status": "PENDING"}
        if all(ops[i]["Status"] == "SUCCEEDED" for i in ("a", "b")):
            return {"Status": "SUCCEEDED", "Result": "2"}
        return {"Status": "PENDING"}

    invoker(engine).script = handler
    arn = await begin(engine)
    while len(callbacks) < 2:
        await asyncio.sleep(0)
    for callback_id in callbacks:
        await engine.send_callback(callback_id, result=b"1")
    release.set()
    await engine.idle()
    ex = await engine.get(arn)
    assert ex is not None and ex.status is ExecutionStatus.SUCCEEDED
    assert invoker(engine).calls == 2
    assert invoker(engine).max_running == 1


@run
async def test_a_restart_rearms_timers_and_reinvokes(
    store: StoreThread, clock: FakeClock, tmp_path: Path
) -> None:
    first = make_engine(store, clock, tmp_path)
    tokens: list[str] = []

    async def handler(event: dict[str, Any]) -> dict[str, Any]:
        tokens.append(event["CheckpointToken"])
        if "w1" not in ops_of(event):
            await checkpoint(first, event, WAIT)
            return {"Status": "PENDING"}
        return {"Status": "SUCCEEDED", "Result": "1"}

    invoker(first).script = handler
    arn = await begin(first)
    await first.idle()
    second = make_engine(store, clock, tmp_path)
    invoker(second).script = handler
    clock.advance(5)
    await second.recover()
    assert await second.run_due() == 1
    await second.idle()
    ex = await second.get(arn)
    assert ex is not None and ex.status is ExecutionStatus.SUCCEEDED
    stale = {"DurableExecutionArn": arn, "CheckpointToken": tokens[0]}
    with pytest.raises(Exception, match="Invalid checkpoint token"):
        await checkpoint(second, stale, WAIT)


@run
async def test_an_invocation_cut_short_is_invoked_again_after_a_restart(
    store: StoreThread, clock: FakeClock, tmp_path: Path
) -> None:
    first = make_engine(store, clock, tmp_path)
    hang = asyncio.Event()

    async def stuck(event: dict[str, Any]) -> dict[str, Any]:
        await checkpoint(
            first, event, {"Id": "s", "Type": "STEP", "Action": "SUCCEED", "Payload": "7"}
        )
        await hang.wait()
        return {"Status": "PENDING"}

    invoker(first).script = stuck
    arn = await begin(first)
    while "s" not in getattr(await first.get(arn), "ops", {}):
        await asyncio.sleep(0)
    await first.stop()  # the server died mid-invocation
    second = make_engine(store, clock, tmp_path)
    seen: list[dict[str, Any]] = []

    async def resumed(event: dict[str, Any]) -> dict[str, Any]:
        seen.append(ops_of(event))
        return {"Status": "SUCCEEDED", "Result": ops_of(event)["s"]["StepDetails"]["Result"]}

    invoker(second).script = resumed
    await second.recover()
    await second.idle()
    ex = await second.get(arn)
    assert ex is not None and ex.status is ExecutionStatus.SUCCEEDED and ex.result == "7"
    assert seen[0]["s"]["Status"] == "SUCCEEDED"


@run
async def test_execution_timeout_and_retention_sweep(
    store: StoreThread, clock: FakeClock, tmp_path: Path
) -> None:
    engine = make_engine(store, clock, tmp_path)

    async def waits(event: dict[str, Any]) -> dict[str, Any]:
        await checkpoint(engine, event, {**WAIT, "WaitOptions": {"WaitSeconds": 10_000}})
        return {"Status": "PENDING"}

    invoker(engine).script = waits
    arn = await begin(engine)
    await engine.idle()
    clock.advance(600)
    await engine.run_due()
    ex = await engine.get(arn)
    assert ex is not None and ex.status is ExecutionStatus.TIMED_OUT
    clock.advance(86_399)
    assert await engine.sweep() == 0
    clock.advance(1)
    assert await engine.sweep() == 1
    assert await engine.get(arn) is None


@run
async def test_get_state_pages_the_log_with_the_invocations_token(
    store: StoreThread, clock: FakeClock, tmp_path: Path
) -> None:
    engine = make_engine(store, clock, tmp_path)
    engine.event_page_bytes = 600
    pages: list[list[str]] = []

    async def handler(event: dict[str, Any]) -> dict[str, Any]:
        state = event["InitialExecutionState"]
        if len(state["Operations"]) == 1:
            steps = [
                {"Id": f"s{i}", "Type": "STEP", "Action": "SUCCEED", "Payload": "x" * 100}
                for i in range(6)
            ]
            reply = await checkpoint(engine, event, *steps, WAIT)
            event = {**event, "CheckpointToken": reply["CheckpointToken"]}
            clock.advance(2)
            await checkpoint(engine, event)  # the wait completes; the handler saw it
            return {"Status": "PENDING"}
        ids = [op["Id"] for op in state["Operations"]]
        marker = state["NextMarker"]
        while marker:
            page = await engine.api.get_state(
                event["DurableExecutionArn"], event["CheckpointToken"], marker, "2"
            )
            ids.extend(op["Id"] for op in page["Operations"])
            marker = page.get("NextMarker", "")
        pages.append(ids)
        return {"Status": "SUCCEEDED", "Result": str(len(ids))}

    invoker(engine).script = handler
    arn = await begin(engine)
    await engine.idle()
    ex = await engine.get(arn)
    assert ex is not None and ex.status is ExecutionStatus.SUCCEEDED
    assert pages == [[ex.exec_id, "s0", "s1", "s2", "s3", "s4", "s5", "w1"]]
    with pytest.raises(Exception, match="Invalid checkpoint token"):
        await engine.api.get_state(arn, "QUJD", "1", None)
