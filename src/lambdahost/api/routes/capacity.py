"""Routes for the capacity-provider operations (Lambda Managed Instances, 2025-11-30)."""

from __future__ import annotations

from lambdahost.api.http import Request, Response, json_response
from lambdahost.api.router import Router
from lambdahost.app.platform import Platform


def register(router: Router, platform: Platform) -> None:
    capacity = platform.capacity

    async def create(request: Request) -> Response:
        return json_response(await capacity.create(request.json()), 202)

    async def get(request: Request) -> Response:
        return json_response(await capacity.get(request.path_params["CapacityProviderName"]))

    async def update(request: Request) -> Response:
        name = request.path_params["CapacityProviderName"]
        return json_response(await capacity.update(name, request.json()), 202)

    async def delete(request: Request) -> Response:
        return json_response(
            await capacity.delete(request.path_params["CapacityProviderName"]), 202
        )

    async def list_providers(request: Request) -> Response:
        return json_response(
            await capacity.list(request.q("State"), request.q("Marker"), request.q("MaxItems"))
        )

    async def versions(request: Request) -> Response:
        return json_response(
            await capacity.function_versions(
                request.path_params["CapacityProviderName"],
                request.q("Marker"),
                request.q("MaxItems"),
            )
        )

    base = "/2025-11-30/capacity-providers"
    router.add("POST", base, create, "CreateCapacityProvider")
    router.add("GET", base, list_providers, "ListCapacityProviders")
    router.add("GET", base + "/{CapacityProviderName}", get, "GetCapacityProvider")
    router.add("PUT", base + "/{CapacityProviderName}", update, "UpdateCapacityProvider")
    router.add("DELETE", base + "/{CapacityProviderName}", delete, "DeleteCapacityProvider")
    router.add(
        "GET",
        base + "/{CapacityProviderName}/function-versions",
        versions,
        "ListFunctionVersionsByCapacityProvider",
    )
