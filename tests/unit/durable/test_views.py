"""Read models: history payload stripping, execution shapes, the CLI timeline."""

from __future__ import annotations

from lambdahost.core.clock import FakeClock
from lambdahost.durable.lifecycle import stop
from lambdahost.durable.views import execution_detail, render_event, timeline
from tests.unit.durable.helpers import Caller, new_execution, step


def test_history_without_execution_data_keeps_the_shape() -> None:
    event = {
        "EventType": "StepSucceeded",
        "EventId": 3,
        "StepSucceededDetails": {
            "Result": {"Payload": "secret", "Truncated": False},
            "RetryDetails": {"CurrentAttempt": 1},
        },
    }
    bare = render_event(event, include_data=False)
    assert bare["StepSucceededDetails"] == {
        "Result": {"Truncated": False},
        "RetryDetails": {"CurrentAttempt": 1},
    }
    assert event["StepSucceededDetails"]["Result"]["Payload"] == "secret"  # type: ignore[index]
    assert render_event(event, include_data=True) is event


def test_execution_detail_and_timeline() -> None:
    clock = FakeClock(1_800_000_000.0)
    ex = new_execution(clock)
    caller = Caller(ex, clock)
    clock.advance(1.25)
    result = caller.send(step("s1", "START"), step("s1", "SUCCEED", Payload="42"))
    stop(ex, {"ErrorType": "Ops", "ErrorMessage": "enough"}, clock.time())
    shape = execution_detail(ex, "arn:fn:1", include_data=True)
    assert shape["Status"] == "STOPPED"
    assert shape["Error"] == {"ErrorType": "Ops", "ErrorMessage": "enough"}
    assert "ExpectedExecutionTimeoutTimestamp" not in shape
    assert execution_detail(ex, "arn:fn:1", include_data=False).get("InputPayload") is None
    assert result.changes is not None
    rows = timeline(result.changes.events)
    assert [r["EventType"] for r in rows] == ["StepStarted", "StepSucceeded"]
    assert rows[1]["Details"] == "attempt=1, result=42"
    assert rows[1]["Offset"] == 0.0
