"""Routes for Put/GetFunctionScalingConfig (Lambda Managed Instances, 2025-11-30)."""

from __future__ import annotations

from lambdahost.api.http import Request, Response, json_response
from lambdahost.api.router import Router
from lambdahost.api.routes.common import unqualified_name
from lambdahost.app.platform import Platform


def register(router: Router, platform: Platform) -> None:
    scaling = platform.scaling

    async def put(request: Request) -> Response:
        name = unqualified_name(request)
        return json_response(await scaling.put(name, request.q("Qualifier"), request.json()), 202)

    async def get(request: Request) -> Response:
        return json_response(await scaling.get(unqualified_name(request), request.q("Qualifier")))

    path = "/2025-11-30/functions/{FunctionName}/function-scaling-config"
    router.add("PUT", path, put, "PutFunctionScalingConfig")
    router.add("GET", path, get, "GetFunctionScalingConfig")
