"""Routes for versions and aliases."""

from __future__ import annotations

from lambdahost.api.http import Request, Response, empty, json_response
from lambdahost.api.router import Router
from lambdahost.api.routes.common import unqualified_name
from lambdahost.app.platform import Platform


def register(router: Router, platform: Platform) -> None:
    functions = platform.functions
    aliases = platform.aliases

    async def publish_version(request: Request) -> Response:
        return json_response(
            await functions.publish_version(unqualified_name(request), request.json()), 201
        )

    async def list_versions(request: Request) -> Response:
        return json_response(
            await functions.list_versions(
                unqualified_name(request), request.q("Marker"), request.q("MaxItems")
            )
        )

    async def create_alias(request: Request) -> Response:
        return json_response(
            await aliases.create_alias(unqualified_name(request), request.json()), 201
        )

    async def list_aliases(request: Request) -> Response:
        return json_response(
            await aliases.list_aliases(
                unqualified_name(request),
                request.q("FunctionVersion"),
                request.q("Marker"),
                request.q("MaxItems"),
            )
        )

    async def get_alias(request: Request) -> Response:
        return json_response(
            await aliases.get_alias(unqualified_name(request), request.path_params["Name"])
        )

    async def update_alias(request: Request) -> Response:
        return json_response(
            await aliases.update_alias(
                unqualified_name(request), request.path_params["Name"], request.json()
            )
        )

    async def delete_alias(request: Request) -> Response:
        await aliases.delete_alias(unqualified_name(request), request.path_params["Name"])
        return empty(204)

    base = "/2015-03-31/functions/{FunctionName}"
    router.add("POST", base + "/versions", publish_version, "PublishVersion")
    router.add("GET", base + "/versions", list_versions, "ListVersionsByFunction")
    router.add("POST", base + "/aliases", create_alias, "CreateAlias")
    router.add("GET", base + "/aliases", list_aliases, "ListAliases")
    router.add("GET", base + "/aliases/{Name}", get_alias, "GetAlias")
    router.add("PUT", base + "/aliases/{Name}", update_alias, "UpdateAlias")
    router.add("DELETE", base + "/aliases/{Name}", delete_alias, "DeleteAlias")
