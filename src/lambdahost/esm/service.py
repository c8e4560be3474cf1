"""Event-source-mapping use cases: create, get, update, delete, list.

Validation is pure (``esm.model``, ``esm.states``); this module adds what needs
I/O (the function and the queue must exist, one mapping per queue and
function), writes the mapping in its transitional state and asks the
supervisor to act on it. Responses are ``EventSourceMappingConfiguration``.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lambdahost.core.arns import parse_function_name
from lambdahost.core.shapes import decode_marker, encode_marker
from lambdahost.errors import ApiError, InvalidTransition, invalid_parameter, resource_conflict
from lambdahost.esm import model, states
from lambdahost.esm.model import EsmConfig, MappingRecord
from lambdahost.esm.repo import EsmRepo
from lambdahost.esm.states import EsmState

if TYPE_CHECKING:
    from lambdahost.app.platform import Platform
    from lambdahost.esm.supervisor import EsmSupervisor

PAGE_LIMIT = 100


def mapping_not_found() -> ApiError:
    return ApiError(
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
        404,
        message_key="Message",
    )


def mapping_in_use() -> ApiError:
    return ApiError(
        "ResourceInUseException",
        "Cannot update the event source mapping because it is in use.",
        400,
        message_key="Message",
    )


def queue_not_found(arn: str) -> ApiError:
    return invalid_parameter(
        "Error occurred while ReceiveMessage. SQS Error Code: "
        "AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue "
        f"does not exist: {arn}"
    )


class EsmService:
    def __init__(self, platform: Platform, supervisor: EsmSupervisor) -> None:
        self.platform = platform
        self.supervisor = supervisor

    @property
    def _region(self) -> str:
        return self.platform.settings.region

    def _shape(self, record: MappingRecord) -> dict[str, Any]:
        return model.shape(record, self._region, self.platform.settings.account_id)

    async def _function(self, value: Any) -> tuple[str, str, int]:
        """(function ARN as given, bare name, timeout) of an existing function."""
        if not isinstance(value, str) or not value:
            raise invalid_parameter("FunctionName is required.")
        ref = parse_function_name(value, "functionName")
        resolved = await self.platform.functions.resolve(ref.name, ref.qualifier)
        arn = self.platform.arns.function(ref.name, ref.qualifier)
        return arn, ref.name, int(resolved.row.config.get("Timeout", 3))

    async def _load(self, uuid: str) -> MappingRecord:
        record = await self.platform.store.call(lambda s: EsmRepo(s.db).get(uuid))
        if record is None:
            raise mapping_not_found()
        return record

    async def _check_unique(self, source: str, function_arn: str, name: str, uuid: str) -> None:
        existing = await self.platform.store.call(lambda s: EsmRepo(s.db).for_source(source))
        for other in existing:
            if other.function_arn == function_arn and other.uuid != uuid:
                raise resource_conflict(
                    f'An event source mapping with SQS arn (" {source} ") and function '
                    f'(" {name} ") already exists. Please update or delete the existing mapping '
                    f"with UUID {other.uuid}"
                )

    async def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        source = model.validate_source_arn(body.get("EventSourceArn"))
        function_arn, name, timeout = await self._function(body.get("FunctionName"))
        info = await self.platform.sqs.queue_info(source)
        if info is None:
            raise queue_not_found(source)
        config = model.apply_request(body, EsmConfig(), info.fifo)
        problem = model.visibility_error(info.visibility_timeout, timeout)
        if problem is not None:
            raise problem
        uuid = str(uuidlib.uuid4())
        await self._check_unique(source, function_arn, name, uuid)
        record = MappingRecord(
            uuid=uuid,
            function_arn=function_arn,
            event_source_arn=source,
            config=config,
            state=EsmState.CREATING,
            state_reason=states.USER_INITIATED,
            last_modified=self.platform.clock.time(),
            last_result=model.NO_RECORDS,
        )
        await self.platform.store.call(lambda s: EsmRepo(s.db).insert(record))
        self.supervisor.schedule(uuid)
        return self._shape(record)

    async def get(self, uuid: str) -> dict[str, Any]:
        return self._shape(await self._load(uuid))

    async def update(self, uuid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        current = await self._load(uuid)
        function_arn, name = current.function_arn, ""
        timeout: int | None = None
        if body.get("FunctionName") is not None:
            function_arn, name, timeout = await self._function(body["FunctionName"])
        info = await self.platform.sqs.queue_info(current.event_source_arn)
        fifo = info.fifo if info else current.event_source_arn.endswith(".fifo")
        config = model.apply_request(body, current.config, fifo)
        if info is not None and timeout is not None:
            problem = model.visibility_error(info.visibility_timeout, timeout)
            if problem is not None:
                raise problem
        try:
            state = states.on_update(uuid, current.state, current.config.enabled, config.enabled)
        except InvalidTransition:
            raise mapping_in_use() from None
        if function_arn != current.function_arn:
            await self._check_unique(current.event_source_arn, function_arn, name, uuid)
        record = MappingRecord(
            uuid=uuid,
            function_arn=function_arn,
            event_source_arn=current.event_source_arn,
            config=config,
            state=state,
            state_reason=states.USER_INITIATED,
            last_modified=self.platform.clock.time(),
            last_result=current.last_result,
        )
        await self.platform.store.call(lambda s: EsmRepo(s.db).update(record))
        self.supervisor.schedule(uuid)
        return self._shape(record)

    async def delete(self, uuid: str) -> dict[str, Any]:
        current = await self._load(uuid)
        if current.state is EsmState.DELETING:
            return self._shape(current)
        state = states.on_delete(uuid, current.state)
        record = MappingRecord(
            uuid=uuid,
            function_arn=current.function_arn,
            event_source_arn=current.event_source_arn,
            config=current.config,
            state=state,
            state_reason=states.USER_INITIATED,
            last_modified=self.platform.clock.time(),
            last_result=current.last_result,
        )
        await self.platform.store.call(lambda s: EsmRepo(s.db).update(record))
        self.supervisor.schedule(uuid)
        return self._shape(record)

    async def list_mappings(
        self,
        source: str | None,
        function_name: str | None,
        marker: str | None,
        max_items: str | None,
    ) -> dict[str, Any]:
        limit = PAGE_LIMIT
        if max_items:
            try:
                wanted = int(max_items)
            except ValueError:
                raise invalid_parameter(f"Invalid MaxItems: {max_items}") from None
            if wanted < 1:
                raise ApiError(
                    "ValidationException",
                    f"1 validation error detected: Value '{wanted}' at 'maxItems' failed to "
                    "satisfy constraint: Member must have value greater than or equal to 1",
                )
            limit = min(wanted, PAGE_LIMIT)
        after = decode_marker(marker) or ""
        if not isinstance(after, str):
            raise invalid_parameter(f"Invalid marker: {marker}")
        ref = parse_function_name(function_name, "functionName") if function_name else None
        records = await self.platform.store.call(
            lambda s: EsmRepo(s.db).page(after, 100_000, source)
        )
        if ref is not None:
            records = [
                r for r in records if _same_function(r.function_arn, ref.name, ref.qualifier)
            ]
        page = records[:limit]
        out: dict[str, Any] = {"EventSourceMappings": [self._shape(r) for r in page]}
        if len(records) > limit:
            out["NextMarker"] = encode_marker(page[-1].uuid)
        return out


def _same_function(function_arn: str, name: str, qualifier: str | None) -> bool:
    ref = parse_function_name(function_arn)
    return ref.name == name and (qualifier is None or ref.qualifier == qualifier)
