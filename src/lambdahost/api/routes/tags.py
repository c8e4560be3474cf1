"""Routes for tags and account settings."""

from __future__ import annotations

from lambdahost.api.http import Request, Response, empty, json_response
from lambdahost.api.router import Router
from lambdahost.app.platform import Platform
from lambdahost.core.arns import parse_resource_function_arn
from lambdahost.errors import invalid_parameter


def _function_from_resource(request: Request) -> str:
    ref = parse_resource_function_arn(request.path_params["Resource"])
    if ref.qualifier is not None:
        raise invalid_parameter(
            "Tags on function aliases and versions are not supported. Please specify a function ARN."
        )
    return ref.name


def register(router: Router, platform: Platform) -> None:
    functions = platform.functions

    async def tag_resource(request: Request) -> Response:
        body = request.json()
        tags = body.get("Tags") if isinstance(body, dict) else None
        if not isinstance(tags, dict):
            raise invalid_parameter("Tags are required.")
        await functions.tag(_function_from_resource(request), tags)
        return empty(204)

    async def untag_resource(request: Request) -> Response:
        keys = request.query.get("tagKeys", [])
        await functions.untag(_function_from_resource(request), keys)
        return empty(204)

    async def list_tags(request: Request) -> Response:
        return json_response({"Tags": await functions.list_tags(_function_from_resource(request))})

    async def account_settings(request: Request) -> Response:
        usage = await functions.account_usage()
        limit = platform.concurrency.account_limit
        return json_response(
            {
                "AccountLimit": {
                    "TotalCodeSize": 80_530_636_800,
                    "CodeSizeUnzipped": 262_144_000,
                    "CodeSizeZipped": 52_428_800,
                    "ConcurrentExecutions": limit,
                    "UnreservedConcurrentExecutions": platform.concurrency.unreserved_limit(),
                },
                "AccountUsage": usage,
            }
        )

    router.add("POST", "/2017-03-31/tags/{Resource}", tag_resource, "TagResource")
    router.add("DELETE", "/2017-03-31/tags/{Resource}", untag_resource, "UntagResource")
    router.add("GET", "/2017-03-31/tags/{Resource}", list_tags, "ListTags")
    router.add("GET", "/2016-08-19/account-settings", account_settings, "GetAccountSettings")
    router.add("GET", "/2016-08-19/account-settings/", account_settings, "GetAccountSettings")
