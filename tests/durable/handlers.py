"""Durable handlers written with the unmodified aws-durable-execution-sdk-python.

Each constant is the source of an ``app.py``. Handlers that must leave evidence
across processes (how often a step body really ran) append to a file under the
directory named by the ``EVIDENCE_DIR`` environment variable (functions have a
private /tmp, so the tests point it at /var/tmp).
"""

from __future__ import annotations

PRELUDE = """
import json, os, time
from aws_durable_execution_sdk_python import (
    DurableContext, StepContext, durable_execution, durable_step, durable_with_child_context,
)
from aws_durable_execution_sdk_python.config import (
    Duration, StepConfig, CallbackConfig, MapConfig, ParallelConfig, CompletionConfig,
    StepSemantics,
)
from aws_durable_execution_sdk_python.retries import RetryStrategyConfig, create_retry_strategy

def note(what):
    folder = os.environ.get("EVIDENCE_DIR")
    if folder:
        with open(os.path.join(folder, "evidence.log"), "a") as f:
            f.write(what + "\\n")
"""

STEPS_AND_WAIT = (
    PRELUDE
    + """
@durable_step
def add(step_context, a, b):
    note(f"add {a} {b}")
    return a + b

@durable_execution
def handler(event, context: DurableContext):
    x = context.step(add(event["a"], 1))
    context.wait(Duration.from_seconds(event.get("wait", 1)), name="pause")
    y = context.step(add(x, 10), name="second")
    return {"x": x, "y": y}
"""
)

RETRY = (
    PRELUDE
    + """
@durable_execution
def handler(event, context: DurableContext):
    def flaky(step_context: StepContext):
        note(f"attempt {step_context.attempt}")
        if step_context.attempt < 3:
            raise RuntimeError(f"transient failure on attempt {step_context.attempt}")
        return step_context.attempt
    strategy = create_retry_strategy(RetryStrategyConfig(
        max_attempts=5, initial_delay=Duration.from_seconds(1), backoff_rate=1,
        max_delay=Duration.from_seconds(1)))
    attempts = context.step(flaky, name="flaky", config=StepConfig(retry_strategy=strategy))
    return {"attempts": attempts}
"""
)

RETRY_EXHAUSTED = (
    PRELUDE
    + """
@durable_execution
def handler(event, context: DurableContext):
    def always(step_context: StepContext):
        raise ValueError("never works")
    strategy = create_retry_strategy(RetryStrategyConfig(
        max_attempts=2, initial_delay=Duration.from_seconds(1), max_delay=Duration.from_seconds(1)))
    return context.step(always, name="always", config=StepConfig(retry_strategy=strategy))
"""
)

CALLBACK = (
    PRELUDE
    + """
@durable_execution
def handler(event, context: DurableContext):
    callback = context.create_callback(name="approval", config=CallbackConfig(
        timeout=Duration.from_seconds(event.get("timeout", 60)),
        heartbeat_timeout=Duration.from_seconds(event.get("heartbeat", 0))))
    context.step(lambda _: note("callback " + callback.callback_id), name="publish")
    try:
        answer = callback.result()
    except Exception as exc:
        return {"error": type(exc).__name__, "message": str(exc)}
    return {"answer": answer}
"""
)

WAIT_FOR_CALLBACK = (
    PRELUDE
    + """
@durable_execution
def handler(event, context: DurableContext):
    def submit(callback_id, ctx):
        note("callback " + callback_id)
    answer = context.wait_for_callback(submit, name="approve")
    return {"answer": answer}
"""
)

CHILD = (
    PRELUDE
    + """
@durable_execution
def handler(event, context: DurableContext):
    return {"child": context.invoke(event["target"], {"n": event["n"]}, name="call-child")}
"""
)

CHILD_TARGET = (
    PRELUDE
    + """
@durable_execution
def handler(event, context: DurableContext):
    doubled = context.step(lambda _: event["n"] * 2, name="double")
    context.wait(Duration.from_seconds(1))
    if event["n"] < 0:
        raise ValueError("negative input")
    return doubled + 1
"""
)

PLAIN_TARGET = """
def handler(event, context):
    if event.get("n", 0) < 0:
        raise ValueError("plain target refuses negatives")
    return {"plain": event["n"] * 3}
"""

MAP_AND_PARALLEL = (
    PRELUDE
    + """
@durable_execution
def handler(event, context: DurableContext):
    def item(ctx: DurableContext, value, index, items):
        doubled = ctx.step(lambda _: value * 2, name=f"double-{index}")
        if value == event.get("bad"):
            raise ValueError(f"bad item {value}")
        ctx.wait(Duration.from_seconds(1))
        return doubled
    mapped = context.map(event["items"], item, name="map-items", config=MapConfig(
        completion_config=CompletionConfig(tolerated_failure_count=len(event["items"]))))
    def branch_a(ctx: DurableContext):
        ctx.wait(Duration.from_seconds(1))
        return "a"
    def branch_b(ctx: DurableContext):
        return ctx.step(lambda _: "b", name="b-step")
    def branch_c(ctx: DurableContext):
        raise RuntimeError("branch c fails")
    par = context.parallel([branch_a, branch_b, branch_c], name="three", config=ParallelConfig(
        completion_config=CompletionConfig(tolerated_failure_count=1)))
    return {
        "map_ok": sorted(r for r in mapped.get_results()),
        "map_errors": [e.message for e in mapped.get_errors()],
        "parallel_ok": par.get_results(),
        "parallel_errors": [e.message for e in par.get_errors()],
    }
"""
)

CHILD_CONTEXT_AND_CONDITION = (
    PRELUDE
    + """
from aws_durable_execution_sdk_python.waits import (
    WaitForConditionConfig, WaitForConditionDecision,
)

@durable_with_child_context
def inner(ctx: DurableContext, base):
    a = ctx.step(lambda _: base + 1, name="inner-a")
    ctx.wait(Duration.from_seconds(1), name="inner-wait")
    return a * 10

@durable_execution
def handler(event, context: DurableContext):
    nested = context.run_in_child_context(inner(event["base"]), name="nested")
    def check(state, check_context):
        note(f"poll {state}")
        return state + 1
    def strategy(state, attempt):
        if state >= 3:
            return WaitForConditionDecision.stop_polling()
        return WaitForConditionDecision.continue_waiting(Duration.from_seconds(1))
    polled = context.wait_for_condition(
        check, WaitForConditionConfig(wait_strategy=strategy, initial_state=0), name="poll")
    return {"nested": nested, "polled": polled}
"""
)

LONG_STEP = (
    PRELUDE
    + """
@durable_execution
def handler(event, context: DurableContext):
    first = context.step(lambda _: note("first") or 1, name="first")
    def slow(_):
        note("slow-start")
        time.sleep(event.get("sleep", 3))
        note("slow-end")
        return 2
    second = context.step(slow, name="slow")
    third = context.step(lambda _: note("third") or 3, name="third")
    return [first, second, third]
"""
)

MANY_STEPS = (
    PRELUDE
    + """
@durable_execution
def handler(event, context: DurableContext):
    total = 0
    for i in range(event["n"]):
        total += context.step(lambda _, i=i: i, name=f"s{i}")
    return total
"""
)

NONDETERMINISTIC_V1 = (
    PRELUDE
    + """
@durable_execution
def handler(event, context: DurableContext):
    context.step(lambda _: 1, name="first-version")
    context.wait(Duration.from_seconds(2))
    return "v1"
"""
)

NONDETERMINISTIC_V2 = (
    PRELUDE
    + """
@durable_execution
def handler(event, context: DurableContext):
    context.wait(Duration.from_seconds(2))
    context.step(lambda _: 1, name="first-version")
    return "v2"
"""
)

BIG_STEP = (
    PRELUDE
    + """
@durable_execution
def handler(event, context: DurableContext):
    return len(context.step(lambda _: "x" * event["size"], name="big"))
"""
)

CRASH_ONCE = (
    PRELUDE
    + """
@durable_execution
def handler(event, context: DurableContext):
    first = context.step(lambda _: note("first") or "ok", name="first")
    marker = os.path.join(os.environ["EVIDENCE_DIR"], "crashed")
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return first
"""
)

BETWEEN_CHECKPOINTS = (
    PRELUDE
    + """
@durable_execution
def handler(event, context: DurableContext):
    a = context.step(lambda _: note("a") or 1, name="a")
    note("between")
    time.sleep(event.get("sleep", 3))
    b = context.step(lambda _: note("b") or 2, name="b")
    return a + b
"""
)

LARGE_HISTORY = (
    PRELUDE
    + """
@durable_execution
def handler(event, context: DurableContext):
    sizes = [len(context.step(lambda _: "x" * event["size"], name=f"big-{i}"))
             for i in range(event["count"])]
    context.wait(Duration.from_seconds(1))
    # Returned by the second invocation: every size comes from the replayed (paged) log.
    return {"total": sum(sizes), "steps": len(sizes)}
"""
)
