"""Routes for functions: create, get, configuration, code, delete, list."""

from __future__ import annotations

from lambdahost.api.http import Request, Response, empty, json_response
from lambdahost.api.router import Router
from lambdahost.api.routes.common import name_and_qualifier, unqualified_name
from lambdahost.app.platform import Platform


def register(router: Router, platform: Platform) -> None:
    functions = platform.functions

    async def check_dead_letter_target(body: object) -> None:
        """A DeadLetterConfig must name a queue that exists (checked before anything is stored)."""
        if not isinstance(body, dict):
            return
        target = (body.get("DeadLetterConfig") or {}).get("TargetArn")
        if target:
            await platform.destinations.validate_queue(target, "DeadLetterConfig.TargetArn")

    async def create_function(request: Request) -> Response:
        body = request.json()
        await check_dead_letter_target(body)
        return json_response(await functions.create(body), 201)

    async def list_functions(request: Request) -> Response:
        all_versions = request.q("FunctionVersion") == "ALL"
        return json_response(
            await functions.list_functions(request.q("Marker"), request.q("MaxItems"), all_versions)
        )

    async def get_function(request: Request) -> Response:
        name, qualifier = name_and_qualifier(request)
        result = await functions.get_function(name, qualifier, platform.endpoint)
        reserved = platform.concurrency.reserved_for(name)
        if reserved is not None:
            result["Concurrency"] = {"ReservedConcurrentExecutions": reserved}
        return json_response(result)

    async def get_configuration(request: Request) -> Response:
        name, qualifier = name_and_qualifier(request)
        return json_response(await functions.get_configuration(name, qualifier))

    async def update_configuration(request: Request) -> Response:
        name = unqualified_name(request)
        body = request.json()
        await check_dead_letter_target(body)
        return json_response(await functions.update_configuration(name, body))

    async def update_code(request: Request) -> Response:
        name = unqualified_name(request)
        return json_response(await functions.update_code(name, request.json()))

    async def delete_function(request: Request) -> Response:
        name, qualifier = name_and_qualifier(request)
        await functions.delete(name, qualifier)
        if qualifier is None:
            platform.concurrency.forget(name)
        return empty(204)

    base = "/2015-03-31/functions"
    router.add("POST", base, create_function, "CreateFunction")
    router.add("GET", base, list_functions, "ListFunctions")
    router.add("GET", base + "/", list_functions, "ListFunctions")
    router.add("GET", base + "/{FunctionName}", get_function, "GetFunction")
    router.add(
        "GET", base + "/{FunctionName}/configuration", get_configuration, "GetFunctionConfiguration"
    )
    router.add(
        "PUT",
        base + "/{FunctionName}/configuration",
        update_configuration,
        "UpdateFunctionConfiguration",
    )
    router.add("PUT", base + "/{FunctionName}/code", update_code, "UpdateFunctionCode")
    router.add("DELETE", base + "/{FunctionName}", delete_function, "DeleteFunction")
