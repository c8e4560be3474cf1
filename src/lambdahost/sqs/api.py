"""The SQS JSON protocol (awsJson1_0): one handler per ``X-Amz-Target: AmazonSQS.<Op>``.

Scope: parse and type-check each operation's JSON input, call ``SqsBackend``
and shape its output as botocore's SQS model expects. Queue and message rules
live in ``sqs.model``/``sqs.delivery``, storage and waiting in ``sqs.service``.
All errors leave through ``sqs.errors.render``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from lambdahost.api.http import Request, Response
from lambdahost.errors import ApiError
from lambdahost.sqs import errors, model
from lambdahost.sqs.errors import JSON_1_0, BatchError
from lambdahost.sqs.sending import SendEntry, SendResult
from lambdahost.sqs.service import ReceivedMessage

if TYPE_CHECKING:
    from lambdahost.sqs.service import SqsBackend

log = logging.getLogger("lambdahost.sqs")
Body = dict[str, Any]
Handler = Callable[[Body, str], Awaitable[Body]]
UNSUPPORTED = (
    "AddPermission",
    "RemovePermission",
    "StartMessageMoveTask",
    "CancelMessageMoveTask",
    "ListMessageMoveTasks",
)


def _string(body: Body, key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None or (required and value == ""):
        if required:
            raise errors.missing_parameter(key)
        return None
    if not isinstance(value, str):
        raise errors.invalid_value(key, value, f"{key} must be a string.")
    return value


def _integer(body: Body, key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.invalid_value(key, value, f"{key} must be an integer.")
    return value


def _strings(body: Body, key: str) -> list[str]:
    value = body.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.invalid_value(key, value, f"{key} must be a list of strings.")
    return value


def _string_map(body: Body, key: str) -> dict[str, Any]:
    value = body.get(key) or {}
    if not isinstance(value, dict):
        raise errors.invalid_value(key, value, f"{key} must be a map.")
    return value


def _entries(body: Body, entry_shape: str) -> list[Body]:
    entries = body.get("Entries")
    if entries is None:
        raise errors.missing_parameter("Entries")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise errors.invalid_value("Entries", entries, "Entries must be a list of structures.")
    model.validate_batch_ids([e.get("Id") for e in entries], entry_shape)
    return entries


def _send_entry(body: Body) -> SendEntry:
    return SendEntry(
        body=body.get("MessageBody"),
        message_attributes=body.get("MessageAttributes"),
        system_attributes=body.get("MessageSystemAttributes"),
        delay_seconds=_integer(body, "DelaySeconds"),
        group_id=body.get("MessageGroupId"),
        dedup_id=body.get("MessageDeduplicationId"),
    )


def _send_result(result: SendResult) -> Body:
    out: Body = {"MD5OfMessageBody": result.md5_of_body, "MessageId": result.message_id}
    if result.md5_of_attributes:
        out["MD5OfMessageAttributes"] = result.md5_of_attributes
    if result.md5_of_system_attributes:
        out["MD5OfMessageSystemAttributes"] = result.md5_of_system_attributes
    if result.sequence_number:
        out["SequenceNumber"] = result.sequence_number
    return out


def message_shape(message: ReceivedMessage, system: list[str], user: list[str]) -> Body:
    """A received message as ReceiveMessage returns it, with the attributes asked for."""
    from lambdahost.sqs.digest import md5_of_attributes

    out: Body = {
        "MessageId": message.message_id,
        "ReceiptHandle": message.receipt_handle,
        "MD5OfBody": message.md5_of_body,
        "Body": message.body,
    }
    chosen = model.select_system_attributes(message.attributes, system)
    if chosen:
        out["Attributes"] = chosen
    attributes = model.select_message_attributes(message.message_attributes, user)
    if attributes:
        out["MD5OfMessageAttributes"] = md5_of_attributes(attributes)
        out["MessageAttributes"] = attributes
    return out


def _token(after: str) -> str:
    return base64.urlsafe_b64encode(after.encode()).decode()


def _untoken(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise errors.invalid_parameter("Invalid NextToken value.") from None


class SqsApi:
    """Dispatches SQS JSON requests to ``SqsBackend``."""

    def __init__(self, backend: SqsBackend) -> None:
        self.backend = backend
        self.handlers: dict[str, Handler] = {
            "CreateQueue": self.create_queue,
            "GetQueueUrl": self.get_queue_url,
            "ListQueues": self.list_queues,
            "DeleteQueue": self.delete_queue,
            "GetQueueAttributes": self.get_queue_attributes,
            "SetQueueAttributes": self.set_queue_attributes,
            "PurgeQueue": self.purge_queue,
            "SendMessage": self.send_message,
            "SendMessageBatch": self.send_message_batch,
            "ReceiveMessage": self.receive_message,
            "DeleteMessage": self.delete_message,
            "DeleteMessageBatch": self.delete_message_batch,
            "ChangeMessageVisibility": self.change_message_visibility,
            "ChangeMessageVisibilityBatch": self.change_message_visibility_batch,
            "TagQueue": self.tag_queue,
            "UntagQueue": self.untag_queue,
            "ListQueueTags": self.list_queue_tags,
            "ListDeadLetterSourceQueues": self.list_dead_letter_sources,
        }

    async def handle(self, request: Request) -> Response:
        try:
            target = request.headers.get("x-amz-target", "")
            operation = target.split(".", 1)[1] if target.startswith("AmazonSQS.") else target
            handler = self.handlers.get(operation)
            if handler is None:
                if operation in UNSUPPORTED:
                    raise errors.unsupported_operation(operation)
                raise errors.invalid_action(operation or "(none)")
            try:
                body = json.loads(request.body) if request.body else {}
            except (ValueError, UnicodeDecodeError):
                raise errors.malformed_body() from None
            if not isinstance(body, dict):
                raise errors.malformed_body()
            sender = getattr(request.principal, "account_id", None) or self.backend.account
            result = await handler(body, sender)
            return Response(200, json.dumps(result).encode(), [(b"content-type", JSON_1_0)])
        except ApiError as error:
            return errors.render(error, request.request_id)
        except Exception:
            log.exception("internal error in SQS %s", request.headers.get("x-amz-target"))
            failure = errors.sqs_error(
                "InternalFailure", "An internal error occurred in lambdahost.", "InternalError", 500
            )
            return errors.render(failure, request.request_id)

    # -- queues ------------------------------------------------------------------

    async def create_queue(self, body: Body, sender: str) -> Body:
        name = _string(body, "QueueName", required=True)
        assert name is not None
        tags = _string_map(body, "tags")
        if not all(isinstance(v, str) for v in tags.values()):
            raise errors.invalid_parameter("Tag values must be strings.")
        url = await self.backend.create_queue(name, _string_map(body, "Attributes"), tags)
        return {"QueueUrl": url}

    async def get_queue_url(self, body: Body, sender: str) -> Body:
        name = _string(body, "QueueName", required=True)
        owner = _string(body, "QueueOwnerAWSAccountId")
        if (owner and owner != self.backend.account) or not name:
            raise errors.queue_does_not_exist()
        if await self.backend.queue(name) is None:
            raise errors.queue_does_not_exist()
        return {"QueueUrl": self.backend.url(name)}

    async def list_queues(self, body: Body, sender: str) -> Body:
        prefix = _string(body, "QueueNamePrefix") or ""
        limit = _integer(body, "MaxResults")
        token = _string(body, "NextToken")
        if limit is not None and not 1 <= limit <= 1000:
            raise errors.invalid_value(
                "MaxResults", limit, "MaxResults must be an integer between 1 and 1000."
            )
        after = _untoken(token) if token else ""
        names = await self.backend.list_queues(prefix, after, (limit or 1000) + 1)
        page = names[: limit or 1000]
        out: Body = {}
        if page:
            out["QueueUrls"] = [self.backend.url(n) for n in page]
        if limit is not None and len(names) > limit:
            out["NextToken"] = _token(page[-1])
        return out

    async def delete_queue(self, body: Body, sender: str) -> Body:
        await self.backend.delete_queue(await self.backend.require_url(body.get("QueueUrl")))
        return {}

    async def get_queue_attributes(self, body: Body, sender: str) -> Body:
        row = await self.backend.require_url(body.get("QueueUrl"))
        names = _strings(body, "AttributeNames")
        values = await self.backend.get_attributes(row, names)
        return {"Attributes": values} if values else {}

    async def set_queue_attributes(self, body: Body, sender: str) -> Body:
        row = await self.backend.require_url(body.get("QueueUrl"))
        if body.get("Attributes") is None:
            raise errors.missing_parameter("Attributes")
        await self.backend.set_attributes(row, _string_map(body, "Attributes"))
        return {}

    async def purge_queue(self, body: Body, sender: str) -> Body:
        await self.backend.purge(await self.backend.require_url(body.get("QueueUrl")))
        return {}

    async def tag_queue(self, body: Body, sender: str) -> Body:
        row = await self.backend.require_url(body.get("QueueUrl"))
        tags = _string_map(body, "Tags")
        await self.backend.set_tags(row, {**row.tags, **{k: str(v) for k, v in tags.items()}})
        return {}

    async def untag_queue(self, body: Body, sender: str) -> Body:
        row = await self.backend.require_url(body.get("QueueUrl"))
        keys = set(_strings(body, "TagKeys"))
        await self.backend.set_tags(row, {k: v for k, v in row.tags.items() if k not in keys})
        return {}

    async def list_queue_tags(self, body: Body, sender: str) -> Body:
        row = await self.backend.require_url(body.get("QueueUrl"))
        return {"Tags": row.tags} if row.tags else {}

    async def list_dead_letter_sources(self, body: Body, sender: str) -> Body:
        row = await self.backend.require_url(body.get("QueueUrl"))
        return {"queueUrls": await self.backend.dead_letter_sources(row)}

    # -- messages ----------------------------------------------------------------

    async def send_message(self, body: Body, sender: str) -> Body:
        row = await self.backend.require_url(body.get("QueueUrl"))
        [result] = await self.backend.send(row, [_send_entry(body)], sender)
        if isinstance(result, ApiError):
            raise result
        return _send_result(result)

    async def send_message_batch(self, body: Body, sender: str) -> Body:
        row = await self.backend.require_url(body.get("QueueUrl"))
        entries = _entries(body, "SendMessageBatchRequestEntry")
        total = sum(len(str(e.get("MessageBody", "")).encode()) for e in entries)
        if total > errors.MAX_BATCH_BYTES:
            raise errors.batch_too_long(total)
        results = await self.backend.send(row, [_send_entry(e) for e in entries], sender)
        successful, failed = [], []
        for entry, result in zip(entries, results, strict=True):
            if isinstance(result, ApiError):
                failed.append(BatchError.of(entry["Id"], result).wire())
            else:
                successful.append({"Id": entry["Id"], **_send_result(result)})
        return {"Successful": successful, "Failed": failed}

    async def receive_message(self, body: Body, sender: str) -> Body:
        row = await self.backend.require_url(body.get("QueueUrl"))
        count = _integer(body, "MaxNumberOfMessages")
        if count is not None and not 1 <= count <= 10:
            raise errors.invalid_value(
                "MaxNumberOfMessages", count, "Must be between 1 and 10, if provided."
            )
        wait = _integer(body, "WaitTimeSeconds")
        if wait is not None and not 0 <= wait <= 20:
            raise errors.invalid_value(
                "WaitTimeSeconds", wait, "Must be >= 0 and <= 20, if provided."
            )
        if wait is None:
            wait = int(self.backend.attributes_of(row)["ReceiveMessageWaitTimeSeconds"])
        visibility = _integer(body, "VisibilityTimeout")
        if visibility is not None and not 0 <= visibility <= model.MAX_VISIBILITY_S:
            raise errors.invalid_value(
                "VisibilityTimeout", visibility, "Must be between 0 and 43200, if provided."
            )
        system = _strings(body, "AttributeNames") + _strings(body, "MessageSystemAttributeNames")
        user = _strings(body, "MessageAttributeNames")
        messages = await self.backend.receive(row, count or 1, visibility, float(wait))
        if not messages:
            return {}
        return {"Messages": [message_shape(m, system, user) for m in messages]}

    async def delete_message(self, body: Body, sender: str) -> Body:
        row = await self.backend.require_url(body.get("QueueUrl"))
        handle = _string(body, "ReceiptHandle", required=True)
        [error] = await self.backend.delete(row, [handle])
        if error is not None:
            raise error
        return {}

    async def delete_message_batch(self, body: Body, sender: str) -> Body:
        row = await self.backend.require_url(body.get("QueueUrl"))
        entries = _entries(body, "DeleteMessageBatchRequestEntry")
        results = await self.backend.delete(row, [e.get("ReceiptHandle") for e in entries])
        return _batch_outcome(entries, results)

    async def change_message_visibility(self, body: Body, sender: str) -> Body:
        row = await self.backend.require_url(body.get("QueueUrl"))
        handle = _string(body, "ReceiptHandle", required=True)
        timeout = body.get("VisibilityTimeout")
        if timeout is None:
            raise errors.missing_parameter("VisibilityTimeout")
        [error] = await self.backend.change_visibility(row, [(handle, timeout)])
        if error is not None:
            raise error
        return {}

    async def change_message_visibility_batch(self, body: Body, sender: str) -> Body:
        row = await self.backend.require_url(body.get("QueueUrl"))
        entries = _entries(body, "ChangeMessageVisibilityBatchRequestEntry")
        items = [(e.get("ReceiptHandle"), e.get("VisibilityTimeout", 0)) for e in entries]
        results = await self.backend.change_visibility(row, items)
        return _batch_outcome(entries, results)


def _batch_outcome(entries: list[Body], results: list[ApiError | None]) -> Body:
    successful, failed = [], []
    for entry, error in zip(entries, results, strict=True):
        if error is None:
            successful.append({"Id": entry["Id"]})
        else:
            failed.append(BatchError.of(entry["Id"], error).wire())
    return {"Successful": successful, "Failed": failed}
