from __future__ import annotations

from lambdahost.core.records import dlq_attributes, invocation_record
from lambdahost.core.retry import (
    AttemptResult,
    Condition,
    EventState,
    RetryPolicy,
    after_attempt,
    before_attempt,
)

POLICY = RetryPolicy()


def test_success_finishes() -> None:
    decision = after_attempt(AttemptResult.SUCCESS, EventState(0, 0, 0), POLICY, 1)
    assert decision.condition is Condition.SUCCESS


def test_function_errors_retry_one_then_two_minutes_then_exhaust() -> None:
    first = after_attempt(AttemptResult.FUNCTION_ERROR, EventState(0, 0, 0), POLICY, 10)
    assert first.retry_at == 70
    second = after_attempt(AttemptResult.FUNCTION_ERROR, EventState(0, 1, 0), POLICY, 80)
    assert second.retry_at == 200
    third = after_attempt(AttemptResult.FUNCTION_ERROR, EventState(0, 2, 0), POLICY, 210)
    assert third.condition is Condition.RETRIES_EXHAUSTED


def test_zero_retries() -> None:
    policy = RetryPolicy(max_retries=0)
    decision = after_attempt(AttemptResult.FUNCTION_ERROR, EventState(0, 0, 0), policy, 1)
    assert decision.condition is Condition.RETRIES_EXHAUSTED


def test_throttles_back_off_until_max_age() -> None:
    policy = RetryPolicy(max_age_s=100)
    decisions = [
        after_attempt(AttemptResult.THROTTLED, EventState(0, 0, n), policy, 10).retry_at
        for n in range(4)
    ]
    assert decisions == [11, 12, 14, 18]
    late = after_attempt(AttemptResult.SYSTEM_ERROR, EventState(0, 0, 8), policy, 10)
    assert late.condition is Condition.EVENT_AGE_EXCEEDED
    throttle_does_not_count = after_attempt(
        AttemptResult.THROTTLED, EventState(0, 2, 0), policy, 10
    )
    assert throttle_does_not_count.retry_at == 11


def test_expired_before_attempt_and_time_scale() -> None:
    policy = RetryPolicy(max_age_s=60, time_scale=0.01)
    assert before_attempt(EventState(0, 0, 0), policy, 0.5) is None
    expired = before_attempt(EventState(0, 0, 0), policy, 0.7)
    assert expired is not None and expired.condition is Condition.EVENT_AGE_EXCEEDED
    scaled = after_attempt(
        AttemptResult.FUNCTION_ERROR, EventState(0, 0, 0), RetryPolicy(time_scale=0.01), 0
    )
    assert scaled.retry_at == 0.6


def test_invocation_record_shapes() -> None:
    record = invocation_record(
        now=0,
        request_id="r",
        function_arn="arn",
        condition="RetriesExhausted",
        invoke_count=3,
        request_payload=b'{"a": 1}',
        executed_version="$LATEST",
        function_error="Unhandled",
        response_payload=b'{"errorMessage": "x"}',
    )
    assert record["requestPayload"] == {"a": 1}
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["timestamp"] == "1970-01-01T00:00:00.000Z"
    aged = invocation_record(
        now=0,
        request_id="r",
        function_arn="arn",
        condition="EventAgeExceeded",
        invoke_count=0,
        request_payload=b"not json",
        executed_version=None,
        function_error=None,
        response_payload=None,
    )
    assert aged["requestPayload"] == "not json" and "responseContext" not in aged
    attributes = dlq_attributes("r", 200, "x" * 2000)
    assert attributes["ErrorCode"] == {"DataType": "Number", "StringValue": "200"}
    assert len(attributes["ErrorMessage"]["StringValue"]) == 1024
