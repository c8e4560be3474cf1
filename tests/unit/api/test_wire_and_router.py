"""The error boundary and the router, checked against botocore's own parser."""

from __future__ import annotations

import json

import botocore.session
from botocore.parsers import create_parser

from lambdahost.api.http import Request, Response
from lambdahost.api.router import Router
from lambdahost.api.services import Service, ServiceRegistry
from lambdahost.api.wire import rest_json_error
from lambdahost.errors import function_not_found, too_many_requests

LAMBDA = botocore.session.get_session().get_service_model("lambda")


def parse_error(response: Response, operation: str = "Invoke") -> dict[str, object]:
    parser = create_parser("rest-json")
    headers = {k.decode(): v.decode() for k, v in response.headers}
    parsed: dict[str, object] = parser.parse(
        {"status_code": response.status, "headers": headers, "body": response.body},
        LAMBDA.operation_model(operation).output_shape,
    )
    return parsed


def test_not_found_parses_to_the_modelled_exception() -> None:
    response = rest_json_error(
        function_not_found("arn:aws:lambda:us-east-1:123456789012:function:f"), "rid"
    )
    assert response.status == 404
    parsed = parse_error(response)
    assert parsed["Error"] == {
        "Code": "ResourceNotFoundException",
        "Message": "Function not found: arn:aws:lambda:us-east-1:123456789012:function:f",
    }
    assert json.loads(response.body)["Type"] == "User"


def test_throttle_carries_reason_and_retry_after() -> None:
    response = rest_json_error(
        too_many_requests("ReservedFunctionConcurrentInvocationLimitExceeded"), "r"
    )
    assert response.status == 429
    headers = dict(response.headers)
    assert headers[b"retry-after"] == b"1"
    body = json.loads(response.body)
    assert body["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert body["message"] == "Rate Exceeded."


async def _noop(request: Request) -> Response:
    return Response(200)


def test_router_matches_raw_path_and_unquotes_labels() -> None:
    router = Router()
    router.add("POST", "/2015-03-31/functions/{FunctionName}/invocations", _noop, "Invoke")
    router.add("GET", "/2015-03-31/functions/{FunctionName}", _noop, "GetFunction")
    found = router.match(
        "POST",
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af%3A%24LATEST/invocations",
    )
    assert found is not None
    route, params = found
    assert route.name == "Invoke"
    assert params == {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST"}
    assert router.match("DELETE", "/2015-03-31/functions/f") is None
    assert router.match("GET", "/2015-03-31/functions/f/extra/deep") is None


def _request(
    path: str, headers: dict[str, str] | None = None, body: bytes = b"", query: str = ""
) -> Request:
    return Request("POST", path, query, headers or {}, body, "rid")


def test_unsigned_requests_find_their_service() -> None:
    registry = ServiceRegistry()

    def render(error: object, rid: str) -> Response:
        return Response(400)

    for service in (
        Service("lambda", "rest-json", _noop, render),
        Service("sts", "query", _noop, render, query_versions=("2011-06-15",)),
        Service("sqs", "json", _noop, render, target_prefixes=("AmazonSQS.",)),
    ):
        registry.add(service)
    assert registry.guess(_request("/2015-03-31/functions")).name == "lambda"  # type: ignore[union-attr]
    sts = registry.guess(_request("/", body=b"Action=GetCallerIdentity&Version=2011-06-15"))
    assert sts is not None and sts.name == "sts"
    sqs = registry.guess(_request("/", {"x-amz-target": "AmazonSQS.SendMessage"}))
    assert sqs is not None and sqs.name == "sqs"
    assert registry.guess(_request("/", {"x-amz-target": "DynamoDB_20120810.GetItem"})) is None
