"""Routes for Put/Update/Get/Delete/ListFunctionEventInvokeConfig(s)."""

from __future__ import annotations

from lambdahost.api.http import Request, Response, empty, json_response
from lambdahost.api.router import Router
from lambdahost.api.routes.common import name_and_qualifier, unqualified_name
from lambdahost.app.platform import Platform
from lambdahost.core.config import ensure_object


def register(router: Router, platform: Platform) -> None:
    configs = platform.invoke_configs

    async def put(request: Request) -> Response:
        name, qualifier = name_and_qualifier(request)
        body = ensure_object(request.json())
        return json_response(await configs.put(name, qualifier, body, merge=False))

    async def update(request: Request) -> Response:
        name, qualifier = name_and_qualifier(request)
        body = ensure_object(request.json())
        return json_response(await configs.put(name, qualifier, body, merge=True))

    async def get(request: Request) -> Response:
        name, qualifier = name_and_qualifier(request)
        return json_response(await configs.get(name, qualifier))

    async def delete(request: Request) -> Response:
        name, qualifier = name_and_qualifier(request)
        await configs.delete(name, qualifier)
        return empty(204)

    async def list_configs(request: Request) -> Response:
        return json_response(await configs.list(unqualified_name(request)))

    base = "/2019-09-25/functions/{FunctionName}/event-invoke-config"
    router.add("PUT", base, put, "PutFunctionEventInvokeConfig")
    router.add("POST", base, update, "UpdateFunctionEventInvokeConfig")
    router.add("GET", base, get, "GetFunctionEventInvokeConfig")
    router.add("DELETE", base, delete, "DeleteFunctionEventInvokeConfig")
    router.add("GET", base + "/list", list_configs, "ListFunctionEventInvokeConfigs")
