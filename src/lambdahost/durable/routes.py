"""Routes for the 2025-12-01 durable-execution operations (rest-json).

``DurableExecutionArn`` is a plain (non-greedy) URI label in the model, so
botocore percent-encodes its ``/`` and ``:`` and the ARN arrives as one raw path
segment (``arn%3Aaws%3Alambda%3A...%2Fdurable-execution%2F...``); the router
matches the raw path and unquotes the label. Callback ids arrive the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lambdahost.api.http import Request, Response, json_response
from lambdahost.api.router import Router
from lambdahost.durable.service import load_json_body

if TYPE_CHECKING:
    from lambdahost.app.platform import Platform

PREFIX = "/2025-12-01/durable-executions/{DurableExecutionArn}"
CALLBACKS = "/2025-12-01/durable-execution-callbacks/{CallbackId}"


def _flag(request: Request, name: str, default: bool) -> bool:
    value = request.q(name)
    if value is None or value == "":
        return default
    return value.lower() == "true"


def register(router: Router, platform: Platform) -> None:
    """Add the durable-execution routes to the Lambda router."""
    api = platform.durable.api

    def arn(request: Request) -> str:
        return request.path_params["DurableExecutionArn"]

    async def checkpoint(request: Request) -> Response:
        body = load_json_body(request.body)
        if not isinstance(body, dict):
            body = {}
        return json_response(await api.checkpoint(arn(request), body))

    async def get_state(request: Request) -> Response:
        return json_response(
            await api.get_state(
                arn(request),
                request.q("CheckpointToken"),
                request.q("Marker"),
                request.q("MaxItems"),
            )
        )

    async def get_execution(request: Request) -> Response:
        return json_response(
            await api.get_execution(arn(request), _flag(request, "IncludeExecutionData", True))
        )

    async def history(request: Request) -> Response:
        return json_response(
            await api.history(
                arn(request),
                include_data=_flag(request, "IncludeExecutionData", True),
                max_items=request.q("MaxItems"),
                marker=request.q("Marker"),
                reverse=_flag(request, "ReverseOrder", False),
            )
        )

    async def stop(request: Request) -> Response:
        return json_response(await api.stop(arn(request), load_json_body(request.body)))

    async def pause(request: Request) -> Response:
        body = load_json_body(request.body)
        return json_response(
            await api.pause(arn(request), body if isinstance(body, dict) else {}), 202
        )

    async def resume(request: Request) -> Response:
        body = load_json_body(request.body)
        return json_response(
            await api.resume(arn(request), body if isinstance(body, dict) else {}), 202
        )

    async def delete(request: Request) -> Response:
        return json_response(await api.delete(arn(request)), 202)

    async def list_by_function(request: Request) -> Response:
        return json_response(
            await api.list_by_function(request.path_params["FunctionName"], request.query)
        )

    async def succeed(request: Request) -> Response:
        return json_response(
            await api.callback_success(request.path_params["CallbackId"], request.body)
        )

    async def fail(request: Request) -> Response:
        return json_response(
            await api.callback_failure(
                request.path_params["CallbackId"], load_json_body(request.body)
            )
        )

    async def heartbeat(request: Request) -> Response:
        return json_response(await api.callback_heartbeat(request.path_params["CallbackId"]))

    router.add("POST", PREFIX + "/checkpoint", checkpoint, "CheckpointDurableExecution")
    router.add("GET", PREFIX + "/state", get_state, "GetDurableExecutionState")
    router.add("GET", PREFIX + "/history", history, "GetDurableExecutionHistory")
    router.add("POST", PREFIX + "/stop", stop, "StopDurableExecution")
    router.add("POST", PREFIX + "/pause", pause, "PauseDurableExecution")
    router.add("POST", PREFIX + "/resume", resume, "ResumeDurableExecution")
    router.add("GET", PREFIX, get_execution, "GetDurableExecution")
    router.add("DELETE", PREFIX, delete, "DeleteDurableExecution")
    router.add(
        "GET",
        "/2025-12-01/functions/{FunctionName}/durable-executions",
        list_by_function,
        "ListDurableExecutionsByFunction",
    )
    router.add("POST", CALLBACKS + "/succeed", succeed, "SendDurableExecutionCallbackSuccess")
    router.add("POST", CALLBACKS + "/fail", fail, "SendDurableExecutionCallbackFailure")
    router.add("POST", CALLBACKS + "/heartbeat", heartbeat, "SendDurableExecutionCallbackHeartbeat")
