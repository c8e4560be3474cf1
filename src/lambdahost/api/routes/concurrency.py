"""Routes for Put/Get/DeleteFunctionConcurrency (reserved concurrency)."""

from __future__ import annotations

from lambdahost.api.http import Request, Response, empty, json_response
from lambdahost.api.router import Router
from lambdahost.api.routes.common import unqualified_name
from lambdahost.app.platform import Platform


def register(router: Router, platform: Platform) -> None:
    concurrency = platform.concurrency

    async def put(request: Request) -> Response:
        return json_response(await concurrency.put(unqualified_name(request), request.json()))

    async def get(request: Request) -> Response:
        return json_response(await concurrency.get(unqualified_name(request)))

    async def delete(request: Request) -> Response:
        await concurrency.delete(unqualified_name(request))
        return empty(204)

    router.add(
        "PUT", "/2017-10-31/functions/{FunctionName}/concurrency", put, "PutFunctionConcurrency"
    )
    router.add(
        "GET", "/2019-09-30/functions/{FunctionName}/concurrency", get, "GetFunctionConcurrency"
    )
    router.add(
        "DELETE",
        "/2017-10-31/functions/{FunctionName}/concurrency",
        delete,
        "DeleteFunctionConcurrency",
    )
