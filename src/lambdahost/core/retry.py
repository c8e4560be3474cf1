"""Asynchronous invocation: what happens after each attempt. Pure decisions.

Lambda's rules (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html):
- A function error (an unhandled error, a timeout, a crash) is retried up to
  ``MaximumRetryAttempts`` times (default 2), about 1 minute and then 2 minutes later.
- Throttles and system errors do not count as attempts: the event goes back on
  the queue with exponential backoff (1 s doubling to 5 minutes) until it is
  older than ``MaximumEventAgeInSeconds`` (default 21600).
- An event that has run out of retries (``RetriesExhausted``) or of age
  (``EventAgeExceeded``) goes to the on-failure destination and/or the
  dead-letter queue; a success goes to the on-success destination.

``time_scale`` shrinks every delay, so that tests need not wait minutes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_AGE_S = 21600
FUNCTION_ERROR_DELAYS_S = (60.0, 120.0)
SYSTEM_BACKOFF_START_S = 1.0
SYSTEM_BACKOFF_CAP_S = 300.0


class AttemptResult(enum.Enum):
    SUCCESS = "success"
    FUNCTION_ERROR = "function_error"
    THROTTLED = "throttled"
    SYSTEM_ERROR = "system_error"


class Condition(enum.Enum):
    SUCCESS = "Success"
    RETRIES_EXHAUSTED = "RetriesExhausted"
    EVENT_AGE_EXCEEDED = "EventAgeExceeded"


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = DEFAULT_MAX_RETRIES
    max_age_s: float = DEFAULT_MAX_AGE_S
    time_scale: float = 1.0


@dataclass(frozen=True)
class EventState:
    enqueued_at: float
    function_errors: int  # attempts that ended in a function error so far
    system_retries: int  # throttles / system errors so far


@dataclass(frozen=True)
class Decision:
    """Either retry at ``retry_at``, or finish with ``condition``."""

    retry_at: float | None = None
    condition: Condition | None = None

    @property
    def finished(self) -> bool:
        return self.condition is not None


def expired(state: EventState, policy: RetryPolicy, now: float) -> bool:
    return now - state.enqueued_at > policy.max_age_s * policy.time_scale


def before_attempt(state: EventState, policy: RetryPolicy, now: float) -> Decision | None:
    """An event too old to run finishes with EventAgeExceeded; otherwise None (run it)."""
    if expired(state, policy, now):
        return Decision(condition=Condition.EVENT_AGE_EXCEEDED)
    return None


def after_attempt(
    result: AttemptResult, state: EventState, policy: RetryPolicy, now: float
) -> Decision:
    """What to do with an event after an attempt ended with ``result``.

    ``state`` counts the attempts *before* this one.
    """
    if result is AttemptResult.SUCCESS:
        return Decision(condition=Condition.SUCCESS)
    if result is AttemptResult.FUNCTION_ERROR:
        retries_done = state.function_errors  # the first attempt is not a retry
        if retries_done >= policy.max_retries:
            return Decision(condition=Condition.RETRIES_EXHAUSTED)
        delay = FUNCTION_ERROR_DELAYS_S[min(retries_done, len(FUNCTION_ERROR_DELAYS_S) - 1)]
        retry_at = now + delay * policy.time_scale
    else:
        backoff = min(SYSTEM_BACKOFF_CAP_S, SYSTEM_BACKOFF_START_S * 2.0**state.system_retries)
        retry_at = now + backoff * policy.time_scale
    if retry_at - state.enqueued_at > policy.max_age_s * policy.time_scale:
        return Decision(condition=Condition.EVENT_AGE_EXCEEDED)
    return Decision(retry_at=retry_at)
