"""EventInvokeConfig use cases (retries, event age, destinations) and async destinations.

``InvokeConfigService`` validates and stores the per-qualifier settings and
serves them (cached) to the event dispatcher as a ``RetryPolicy`` plus
destination ARNs. ``Destinations`` checks that a destination exists when it is
configured, and delivers invocation records: to a function (as a new Event
invocation) or to a queue (through the built-in SQS service).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lambdahost.core.arns import LATEST, constraint_error
from lambdahost.core.retry import DEFAULT_MAX_AGE_S, DEFAULT_MAX_RETRIES, RetryPolicy
from lambdahost.errors import ApiError, invalid_parameter, resource_not_found
from lambdahost.store.invoke_configs import InvokeConfigRow

if TYPE_CHECKING:
    from lambdahost.app.platform import Platform

_FUNCTION_ARN = re.compile(
    r"arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:([a-zA-Z0-9-_]+)(?::([a-zA-Z0-9-_$]+))?"
)
_SQS_ARN = re.compile(r"arn:aws[a-zA-Z-]*:sqs:[a-z0-9-]+:\d{12}:[a-zA-Z0-9_-]{1,80}(\.fifo)?")


@dataclass(frozen=True)
class AsyncSettings:
    """What the dispatcher needs for one (function, qualifier)."""

    policy: RetryPolicy
    on_success: str | None
    on_failure: str | None


class Destinations:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    async def validate(self, arn: Any, member: str) -> str:
        if not isinstance(arn, str) or not arn:
            raise invalid_parameter(f"The provided destination config {member} is invalid.")
        function = _FUNCTION_ARN.fullmatch(arn)
        if function:
            name, qualifier = function.group(1), function.group(2)
            try:
                await self.platform.functions.resolve(name, qualifier)
            except ApiError:
                raise invalid_parameter(
                    f"The provided destination config {member} is invalid: the function {arn} "
                    "does not exist."
                ) from None
            return arn
        if _SQS_ARN.fullmatch(arn):
            if not await self.platform.sqs.queue_exists(arn):
                raise invalid_parameter(
                    f"The provided destination config {member} is invalid: the queue {arn} "
                    "does not exist."
                )
            return arn
        raise invalid_parameter(
            f"The provided destination config {member} is invalid: lambdahost delivers to "
            f"functions and SQS queues; {arn} is neither."
        )

    async def validate_queue(self, arn: Any, member: str) -> str:
        """A dead-letter target: an SQS queue that exists."""
        if not isinstance(arn, str) or not _SQS_ARN.fullmatch(arn):
            raise invalid_parameter(
                f"The provided {member} is invalid: lambdahost delivers dead letters to SQS "
                f"queues; {arn} is not an SQS queue ARN."
            )
        if not await self.platform.sqs.queue_exists(arn):
            raise invalid_parameter(
                f"The provided {member} is invalid: the queue {arn} does not exist."
            )
        return arn

    async def deliver(self, arn: str, record: Mapping[str, Any]) -> None:
        body = json.dumps(record)
        function = _FUNCTION_ARN.fullmatch(arn)
        if function:
            await self.platform.invoker.accept_event(
                str(uuid.uuid4()), function.group(1), function.group(2), body.encode(), None
            )
            return
        await self.platform.sqs.send_message(arn, body)

    async def dead_letter(
        self, arn: str, payload: bytes, attributes: dict[str, dict[str, str]]
    ) -> None:
        await self.platform.sqs.send_message(arn, payload.decode("utf-8", "replace"), attributes)


class InvokeConfigService:
    def __init__(self, platform: Platform, destinations: Destinations) -> None:
        self.platform = platform
        self.destinations = destinations
        self._cache: dict[tuple[str, str], AsyncSettings] = {}

    def forget(self, name: str) -> None:
        for key in [k for k in self._cache if k[0] == name]:
            del self._cache[key]

    async def _target(self, name: str, qualifier: str | None) -> str:
        qualifier = qualifier or LATEST
        await self.platform.functions.resolve(name, qualifier)  # ResourceNotFound if missing
        return qualifier

    async def _validated(self, body: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
        config = dict(base)
        if body.get("MaximumRetryAttempts") is not None:
            value = body["MaximumRetryAttempts"]
            if not isinstance(value, int) or not 0 <= value <= 2:
                raise constraint_error(
                    value, "maximumRetryAttempts", "Member must have value less than or equal to 2"
                )
            config["MaximumRetryAttempts"] = value
        if body.get("MaximumEventAgeInSeconds") is not None:
            value = body["MaximumEventAgeInSeconds"]
            if not isinstance(value, int) or not 60 <= value <= 21600:
                raise constraint_error(
                    value,
                    "maximumEventAgeInSeconds",
                    "Member must have value between 60 and 21600",
                )
            config["MaximumEventAgeInSeconds"] = value
        if body.get("DestinationConfig") is not None:
            destinations = dict(config.get("DestinationConfig") or {})
            given = body["DestinationConfig"]
            if not isinstance(given, Mapping):
                raise invalid_parameter("DestinationConfig must be an object.")
            for key in ("OnSuccess", "OnFailure"):
                if key not in given:
                    continue
                target = (given[key] or {}).get("Destination")
                if target:
                    await self.destinations.validate(target, f"DestinationConfig.{key}.Destination")
                    destinations[key] = {"Destination": target}
                else:
                    destinations[key] = {}
            config["DestinationConfig"] = destinations
        return config

    def _shape(self, row: InvokeConfigRow) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "LastModified": row.last_modified,
            "FunctionArn": self.platform.arns.function(row.function_name, row.qualifier),
        }
        for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
            if key in row.config:
                shape[key] = row.config[key]
        destinations = row.config.get("DestinationConfig") or {}
        shape["DestinationConfig"] = {
            "OnSuccess": destinations.get("OnSuccess") or {},
            "OnFailure": destinations.get("OnFailure") or {},
        }
        return shape

    async def put(
        self, name: str, qualifier: str | None, body: Mapping[str, Any], merge: bool
    ) -> dict[str, Any]:
        target = await self._target(name, qualifier)
        base: dict[str, Any] = {}
        if merge:
            current = await self.platform.store.call(lambda s: s.invoke_configs.get(name, target))
            base = dict(current.config) if current else {}
        config = await self._validated(body, base)
        now = self.platform.clock.time()
        await self.platform.store.call(lambda s: s.invoke_configs.put(name, target, config, now))
        self.forget(name)
        return self._shape(InvokeConfigRow(name, target, config, now))

    async def get(self, name: str, qualifier: str | None) -> dict[str, Any]:
        target = await self._target(name, qualifier)
        row = await self.platform.store.call(lambda s: s.invoke_configs.get(name, target))
        if row is None:
            raise resource_not_found(
                f"The function {self.platform.arns.function(name, target)} doesn't have an "
                "EventInvokeConfig"
            )
        return self._shape(row)

    async def delete(self, name: str, qualifier: str | None) -> None:
        target = await self._target(name, qualifier)
        found = await self.platform.store.call(lambda s: s.invoke_configs.delete(name, target))
        self.forget(name)
        if not found:
            raise resource_not_found(
                f"The function {self.platform.arns.function(name, target)} doesn't have an "
                "EventInvokeConfig"
            )

    async def list(self, name: str) -> dict[str, Any]:
        await self.platform.functions.require_latest(name)
        rows = await self.platform.store.call(lambda s: s.invoke_configs.list(name))
        return {"FunctionEventInvokeConfigs": [self._shape(r) for r in rows]}

    async def settings_for(self, name: str, qualifier: str | None) -> AsyncSettings:
        key = (name, qualifier or LATEST)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        row = await self.platform.store.call(lambda s: s.invoke_configs.get(*key))
        config = row.config if row else {}
        destinations = config.get("DestinationConfig") or {}
        settings = AsyncSettings(
            policy=RetryPolicy(
                max_retries=int(config.get("MaximumRetryAttempts", DEFAULT_MAX_RETRIES)),
                max_age_s=float(config.get("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE_S)),
                time_scale=self.platform.settings.event_time_scale,
            ),
            on_success=(destinations.get("OnSuccess") or {}).get("Destination"),
            on_failure=(destinations.get("OnFailure") or {}).get("Destination"),
        )
        self._cache[key] = settings
        return settings
