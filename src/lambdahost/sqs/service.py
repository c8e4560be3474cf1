"""SQS service wiring: the backend component and the endpoint's ``Service`` entry (stub)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lambdahost.api.http import Request, Response
from lambdahost.api.services import Service
from lambdahost.api.wire import json_protocol_error
from lambdahost.errors import ApiError

if TYPE_CHECKING:
    from lambdahost.app.platform import Platform


class SqsBackend:
    """Queues, messages and long polling over the store. Started with the platform."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def build_service(platform: Platform) -> Service:
    async def handle(request: Request) -> Response:
        raise ApiError("UnsupportedOperation", "SQS is not implemented yet", 400)

    async def guarded(request: Request) -> Response:
        try:
            return await handle(request)
        except ApiError as error:
            return json_protocol_error(error, request.request_id)

    return Service("sqs", "json", guarded, json_protocol_error, target_prefixes=("AmazonSQS.",))
