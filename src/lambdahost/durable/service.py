"""The 2025-12-01 durable-execution operations, on top of the engine.

Each method takes already-decoded request values and returns the response
shape (a dict for ``json_response``). Validation errors use the model's
wording; state changes go through the pure core and ``DurableEngine.commit``,
so an answer is only sent once the change is on disk.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lambdahost.core.arns import constraint_error, parse_function_name
from lambdahost.durable import journal, lifecycle
from lambdahost.durable.ids import decode_token, invalid_token, parse_arn, validate_callback_id
from lambdahost.durable.model import Execution, ExecutionStatus
from lambdahost.durable.repo import DurableRepo
from lambdahost.durable.updates import parse_error, parse_updates
from lambdahost.durable.views import execution_detail, execution_summary, render_event, timeline
from lambdahost.errors import ApiError, function_not_found, invalid_parameter, resource_conflict

if TYPE_CHECKING:
    from lambdahost.durable.engine import DurableEngine

CALLBACK_RESULT_LIMIT = 1_048_576
DEFAULT_HISTORY_PAGE = 100
DEFAULT_LIST_PAGE = 100
MAX_PAGE = 1000
STATUSES = tuple(s.value for s in ExecutionStatus)


def not_found(arn: str) -> ApiError:
    return ApiError(
        "ResourceNotFoundException",
        f"Durable execution not found: {arn}",
        404,
        message_key="Message",
    )


def callback_not_found(callback_id: str) -> ApiError:
    return ApiError(
        "ResourceNotFoundException",
        f"Callback not found: {callback_id}",
        404,
        message_key="Message",
    )


def callback_closed(callback_id: str) -> ApiError:
    return ApiError(
        "CallbackTimeoutException",
        f"Callback {callback_id} has already completed or timed out.",
        400,
        message_key="Message",
    )


def _page(value: str | None, member: str, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise constraint_error(value, member, "Member must be an integer") from None
    if not 0 <= number <= MAX_PAGE:
        raise constraint_error(
            value, member, f"Member must have value less than or equal to {MAX_PAGE}"
        )
    return number or default


def _marker(value: str | None) -> int:
    if not value:
        return 0
    try:
        return int(base64.urlsafe_b64decode(value.encode()).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid_parameter(f"Invalid marker: {value}") from None


def _encode_marker(position: int) -> str:
    return base64.urlsafe_b64encode(str(position).encode()).decode()


def _timestamp(value: str | None, member: str) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise constraint_error(value, member, "Member must be a timestamp") from None


class DurableService:
    def __init__(self, engine: DurableEngine) -> None:
        self.engine = engine

    async def _execution(self, arn: str) -> Execution:
        parse_arn(arn)
        ex = await self.engine.get(arn)
        if ex is None:
            raise not_found(arn)
        return ex

    def _function_arn(self, ex: Execution) -> str:
        return self.engine.platform.arns.function(ex.function_name, ex.version)

    # -- used by the SDK -----------------------------------------------------------

    async def checkpoint(self, arn: str, body: dict[str, Any]) -> dict[str, Any]:
        token = body.get("CheckpointToken")
        if not isinstance(token, str) or not token:
            raise constraint_error(None, "checkpointToken", "Member must not be null")
        client_token = body.get("ClientToken")
        updates = parse_updates(body.get("Updates"))
        ex = await self._execution(arn)
        engine = self.engine
        targets = (
            await engine.resolve_targets(ex, updates)
            if any(u.invoke_function for u in updates)
            else {}
        )
        async with engine.lock(arn):
            result = journal.checkpoint(
                ex,
                token=token,
                client_token=client_token if isinstance(client_token, str) else None,
                updates=updates,
                now=engine.now(),
                boot=engine.boot,
                targets=targets,
                new_id=engine.new_id,
                new_callback_id=engine.new_callback_id,
            )
            if result.changes is not None:
                await engine.commit(result.changes)
        return result.response

    async def get_state(
        self, arn: str, token: str | None, marker: str | None, max_items: str | None
    ) -> dict[str, Any]:
        if not token:
            raise constraint_error(None, "checkpointToken", "Member must not be null")
        ex = await self._execution(arn)
        claims = decode_token(token)
        rt = ex.rt
        from lambdahost.durable.ids import arn_tag

        if (
            claims is None
            or claims.boot != self.engine.boot
            or claims.tag != arn_tag(ex.arn)
            or claims.invocation != rt.invocation
            or claims.seq > rt.checkpoint
            or not rt.invoking
        ):
            raise invalid_token(
                "the token does not belong to a running invocation of this execution."
            )
        start = int(marker) if marker and marker.isdigit() else 0
        limit = _page(max_items, "maxItems", MAX_PAGE)
        ops = list(ex.ops.values())
        chunk = ops[start : start + limit]
        result: dict[str, Any] = {"Operations": [op.to_wire() for op in chunk]}
        if start + limit < len(ops):
            result["NextMarker"] = str(start + limit)
        return result

    # -- inspection ------------------------------------------------------------------

    async def get_execution(self, arn: str, include_data: bool) -> dict[str, Any]:
        ex = await self._execution(arn)
        return execution_detail(ex, self._function_arn(ex), include_data)

    async def list_by_function(self, function: str, query: dict[str, list[str]]) -> dict[str, Any]:
        def one(key: str) -> str | None:
            values = query.get(key)
            return values[0] if values else None

        ref = parse_function_name(function)
        engine = self.engine
        qualifier = one("Qualifier") or ref.qualifier
        if await engine.platform.functions.version(ref.name, "$LATEST") is None:
            raise function_not_found(engine.platform.arns.function(ref.name))
        version = None
        if qualifier:
            version = (await engine.platform.invoker.resolve(ref.name, qualifier)).executed_version
        statuses = query.get("Statuses") or []
        for status in statuses:
            if status not in STATUSES:
                raise constraint_error(
                    status,
                    "statuses",
                    f"Member must satisfy enum value set: [{', '.join(STATUSES)}]",
                )
        name = one("DurableExecutionName")
        limit = _page(one("MaxItems"), "maxItems", DEFAULT_LIST_PAGE)
        offset = _marker(one("Marker"))
        oldest_first = (one("ReverseOrder") or "").lower() == "true"
        after = _timestamp(one("StartedAfter"), "startedAfter")
        before = _timestamp(one("StartedBefore"), "startedBefore")
        rows = await engine.writer.read(
            lambda r: r.list_executions(
                ref.name,
                version=version,
                name=name,
                statuses=statuses,
                started_after=after,
                started_before=before,
                oldest_first=oldest_first,
                offset=offset,
                limit=limit + 1,
            )
        )
        items = []
        for row in rows[:limit]:
            current = engine.peek(row.arn) or row
            items.append(execution_summary(current, self._function_arn(current)))
        result: dict[str, Any] = {"DurableExecutions": items}
        if len(rows) > limit:
            result["NextMarker"] = _encode_marker(offset + limit)
        return result

    async def list_all(
        self, function: str, qualifier: str | None, statuses: tuple[str, ...], limit: int
    ) -> list[dict[str, Any]]:
        query: dict[str, list[str]] = {"MaxItems": [str(min(limit, MAX_PAGE))]}
        if qualifier:
            query["Qualifier"] = [qualifier]
        if statuses:
            query["Statuses"] = list(statuses)
        return list((await self.list_by_function(function, query))["DurableExecutions"])

    async def history(
        self,
        arn: str,
        *,
        include_data: bool,
        max_items: str | None,
        marker: str | None,
        reverse: bool,
    ) -> dict[str, Any]:
        await self._execution(arn)
        limit = _page(max_items, "maxItems", DEFAULT_HISTORY_PAGE)
        after = _marker(marker)
        events = await self.engine.writer.read(
            lambda r: r.events(arn, after=after, limit=limit + 1, newest_first=reverse)
        )
        result: dict[str, Any] = {"Events": [render_event(e, include_data) for e in events[:limit]]}
        if len(events) > limit:
            result["NextMarker"] = _encode_marker(int(events[limit - 1]["EventId"]))
        return result

    async def all_events(self, arn: str) -> list[dict[str, Any]]:
        await self._execution(arn)
        events: list[dict[str, Any]] = []
        while True:
            after = int(events[-1]["EventId"]) if events else 0
            page = await self.engine.writer.read(
                functools.partial(
                    DurableRepo.events, arn=arn, after=after, limit=MAX_PAGE, newest_first=False
                )
            )
            events.extend(page)
            if len(page) < MAX_PAGE:
                return events

    async def timeline(self, arn: str) -> list[dict[str, Any]]:
        return timeline(await self.all_events(arn))

    # -- control ------------------------------------------------------------------------

    async def stop(self, arn: str, error_body: Any) -> dict[str, Any]:
        error = parse_error(error_body or None, "error") or {}
        ex = await self._execution(arn)
        async with self.engine.lock(arn):
            if ex.closed:
                raise invalid_parameter(
                    f"The durable execution {arn} is already {ex.status.value} and cannot be stopped."
                )
            ch = lifecycle.stop(ex, error, self.engine.now())
            await self.engine.commit(ch)
        return {"StopTimestamp": round(ex.end or self.engine.now(), 3)}

    async def pause(self, arn: str, body: dict[str, Any]) -> dict[str, Any]:
        ex = await self._execution(arn)
        async with self.engine.lock(arn):
            if ex.status in (ExecutionStatus.PAUSED, ExecutionStatus.PAUSING):
                return {}
            if ex.status is not ExecutionStatus.RUNNING:
                raise resource_conflict(
                    f"The durable execution {arn} is {ex.status.value} and cannot be paused."
                )
            reason = body.get("Reason")
            timeout_paused = body.get("ExecutionTimeoutPaused")
            ch = lifecycle.pause(
                ex,
                reason if isinstance(reason, str) else None,
                True if timeout_paused is None else bool(timeout_paused),
                self.engine.now(),
            )
            await self.engine.commit(ch)
        return {}

    async def resume(self, arn: str, body: dict[str, Any]) -> dict[str, Any]:
        ex = await self._execution(arn)
        async with self.engine.lock(arn):
            if ex.status is ExecutionStatus.RUNNING:
                return {}
            if ex.status not in (ExecutionStatus.PAUSED, ExecutionStatus.PAUSING):
                raise resource_conflict(
                    f"The durable execution {arn} is {ex.status.value} and cannot be resumed."
                )
            reason = body.get("Reason")
            ch = lifecycle.resume(
                ex, reason if isinstance(reason, str) else None, self.engine.now()
            )
            await self.engine.commit(ch)
        return {}

    async def delete(self, arn: str) -> dict[str, Any]:
        ex = await self._execution(arn)
        if not ex.closed:
            raise resource_conflict(
                f"The durable execution {arn} is {ex.status.value}; only a completed execution "
                "can be deleted."
            )
        now = self.engine.now()
        await self.engine.writer.read(lambda r: r.delete([arn]))
        self.engine.forget(arn)
        return {"DeletionRequestTimestamp": now}

    # -- callbacks -------------------------------------------------------------------

    async def _callback(self, callback_id: str) -> tuple[Execution, str]:
        validate_callback_id(callback_id)
        found = await self.engine.writer.read(lambda r: r.callback(callback_id))
        if found is None:
            raise callback_not_found(callback_id)
        ex = await self.engine.get(found[0])
        if ex is None:
            raise callback_not_found(callback_id)
        return ex, found[1]

    async def callback_success(self, callback_id: str, body: bytes) -> dict[str, Any]:
        if len(body) > CALLBACK_RESULT_LIMIT:
            raise invalid_parameter(
                f"Callback result size must be less than or equal to {CALLBACK_RESULT_LIMIT} bytes."
            )
        try:
            text = body.decode()
        except UnicodeDecodeError:
            raise invalid_parameter("The callback result must be UTF-8 text.") from None
        return await self._complete(callback_id, result=text)

    async def callback_failure(self, callback_id: str, error_body: Any) -> dict[str, Any]:
        error = parse_error(error_body or None, "error") or {}
        return await self._complete(callback_id, error=error)

    async def _complete(
        self, callback_id: str, *, result: str | None = None, error: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        ex, op_id = await self._callback(callback_id)
        async with self.engine.lock(ex.arn):
            ch = lifecycle.complete_callback(
                ex, op_id, self.engine.now(), result=result, error=error
            )
            if ch is None:
                raise callback_closed(callback_id)
            await self.engine.commit(ch)
        return {}

    async def callback_heartbeat(self, callback_id: str) -> dict[str, Any]:
        ex, op_id = await self._callback(callback_id)
        async with self.engine.lock(ex.arn):
            ch = lifecycle.heartbeat(ex, op_id, self.engine.now())
            if ch is None:
                raise callback_closed(callback_id)
            await self.engine.commit(ch)
        return {}


def load_json_body(body: bytes) -> Any:
    if not body:
        return {}
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(
            "SerializationException", "Could not parse the request body as JSON", 400
        ) from None
