"""Routes for Create/Get/Update/Delete/ListEventSourceMappings (Lambda rest-json).

Thin: parse the request, call ``EsmService`` (``platform.esm.service``), answer
with the status the Lambda model gives each operation (202 for changes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lambdahost.api.http import Request, Response, json_response
from lambdahost.api.router import Router
from lambdahost.errors import invalid_request_content

if TYPE_CHECKING:
    from lambdahost.app.platform import Platform

BASE = "/2015-03-31/event-source-mappings"


def _body(request: Request) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise invalid_request_content("Could not parse request body into json: expected an object")
    return body


def register(router: Router, platform: Platform) -> None:
    """Add the event-source-mapping routes to the Lambda router."""

    async def create(request: Request) -> Response:
        return json_response(await platform.esm.service.create(_body(request)), 202)

    async def list_mappings(request: Request) -> Response:
        return json_response(
            await platform.esm.service.list_mappings(
                request.q("EventSourceArn"),
                request.q("FunctionName"),
                request.q("Marker"),
                request.q("MaxItems"),
            )
        )

    async def get(request: Request) -> Response:
        return json_response(await platform.esm.service.get(request.path_params["UUID"]))

    async def update(request: Request) -> Response:
        uuid = request.path_params["UUID"]
        return json_response(await platform.esm.service.update(uuid, _body(request)), 202)

    async def delete(request: Request) -> Response:
        return json_response(await platform.esm.service.delete(request.path_params["UUID"]), 202)

    for path in (BASE, BASE + "/"):
        router.add("POST", path, create, "CreateEventSourceMapping")
        router.add("GET", path, list_mappings, "ListEventSourceMappings")
    router.add("GET", BASE + "/{UUID}", get, "GetEventSourceMapping")
    router.add("PUT", BASE + "/{UUID}", update, "UpdateEventSourceMapping")
    router.add("DELETE", BASE + "/{UUID}", delete, "DeleteEventSourceMapping")
