"""Routes for Put/Get/List/DeleteProvisionedConcurrencyConfig.

Get and List share one path; List is told apart by its static ``?List=ALL``.
"""

from __future__ import annotations

from lambdahost.api.http import Request, Response, empty, json_response
from lambdahost.api.router import Router
from lambdahost.api.routes.common import name_and_qualifier, unqualified_name
from lambdahost.app.platform import Platform


def register(router: Router, platform: Platform) -> None:
    provisioned = platform.provisioned

    async def put(request: Request) -> Response:
        name, qualifier = name_and_qualifier(request)
        return json_response(await provisioned.put(name, qualifier, request.json()), 202)

    async def get_or_list(request: Request) -> Response:
        if request.q("List") == "ALL":
            return json_response(await provisioned.list_configs(unqualified_name(request)))
        name, qualifier = name_and_qualifier(request)
        return json_response(await provisioned.get(name, qualifier))

    async def delete(request: Request) -> Response:
        name, qualifier = name_and_qualifier(request)
        await provisioned.delete(name, qualifier)
        return empty(204)

    path = "/2019-09-30/functions/{FunctionName}/provisioned-concurrency"
    router.add("PUT", path, put, "PutProvisionedConcurrencyConfig")
    router.add("GET", path, get_or_list, "GetProvisionedConcurrencyConfig")
    router.add("DELETE", path, delete, "DeleteProvisionedConcurrencyConfig")
