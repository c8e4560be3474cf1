"""Routes for layers: versions, listing, GetLayerVersionByArn and layer-version permissions.

``GET /2018-10-31/layers`` is both ListLayers and GetLayerVersionByArn: the latter is
recognised by ``?find=LayerVersion`` (lambda-wire-protocol.md §1.1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lambdahost.api.http import Request, Response, empty, json_response
from lambdahost.api.router import Router
from lambdahost.errors import invalid_parameter

if TYPE_CHECKING:
    from lambdahost.app.platform import Platform

_BASE = "/2018-10-31/layers"
_VERSION = _BASE + "/{LayerName}/versions/{VersionNumber}"


def register(router: Router, platform: Platform) -> None:
    layers = platform.layers
    endpoint = platform.endpoint

    def params(request: Request) -> tuple[str, str]:
        return request.path_params["LayerName"], request.path_params["VersionNumber"]

    async def publish(request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            raise invalid_parameter("The request body must be a JSON object.")
        shape = await layers.publish(request.path_params["LayerName"], body, endpoint)
        return json_response(shape, 201)

    async def list_versions(request: Request) -> Response:
        return json_response(
            await layers.list_versions(
                request.path_params["LayerName"],
                request.q("CompatibleRuntime"),
                request.q("CompatibleArchitecture"),
                request.q("Marker"),
                request.q("MaxItems"),
            )
        )

    async def get_version(request: Request) -> Response:
        return json_response(await layers.get(*params(request), endpoint))

    async def delete_version(request: Request) -> Response:
        await layers.delete(*params(request))
        return empty(204)

    async def list_or_find(request: Request) -> Response:
        if request.q("find") == "LayerVersion":
            return json_response(await layers.get_by_arn(request.q("Arn"), endpoint))
        return json_response(
            await layers.list_layers(
                request.q("CompatibleRuntime"),
                request.q("CompatibleArchitecture"),
                request.q("Marker"),
                request.q("MaxItems"),
            )
        )

    async def add_permission(request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            raise invalid_parameter("The request body must be a JSON object.")
        result = await layers.add_permission(*params(request), body, request.q("RevisionId"))
        return json_response(result, 201)

    async def get_policy(request: Request) -> Response:
        return json_response(await layers.get_policy(*params(request)))

    async def remove_permission(request: Request) -> Response:
        name, version = params(request)
        await layers.remove_permission(
            name, version, request.path_params["StatementId"], request.q("RevisionId")
        )
        return empty(204)

    router.add("POST", _BASE + "/{LayerName}/versions", publish, "PublishLayerVersion")
    router.add("GET", _BASE + "/{LayerName}/versions", list_versions, "ListLayerVersions")
    router.add("GET", _VERSION, get_version, "GetLayerVersion")
    router.add("DELETE", _VERSION, delete_version, "DeleteLayerVersion")
    router.add("GET", _BASE, list_or_find, "ListLayers")
    router.add("POST", _VERSION + "/policy", add_permission, "AddLayerVersionPermission")
    router.add("GET", _VERSION + "/policy", get_policy, "GetLayerVersionPolicy")
    router.add(
        "DELETE",
        _VERSION + "/policy/{StatementId}",
        remove_permission,
        "RemoveLayerVersionPermission",
    )
