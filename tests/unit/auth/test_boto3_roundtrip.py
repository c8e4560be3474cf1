"""Unmodified boto3 clients against the verifier, in process.

botocore's ``before-send`` hook hands us each fully signed request and takes our response
instead of opening a socket, so these tests exercise real client serialization, real signing
and botocore's real response/error parsing end to end.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError
from sigv4_testkit import ACCOUNT, AK, CREDS, SK, FakeRaw, Wire, lookup, wire_from_prepared

from lambdahost.auth import AuthError, handle_sts, parse_query_params, render_auth_error, verify
from lambdahost.auth.sts import STS_XML_NAMESPACE

ENDPOINT = "http://127.0.0.1:9001"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:my-fn"


class FakeServer:
    """Verifies every request, records it, and answers like lambdahost's front door would."""

    def __init__(self, protocol: str, answer: Callable[[Wire], tuple[int, bytes]]) -> None:
        self.protocol = protocol
        self.answer = answer
        self.seen: list[Wire] = []

    def __call__(self, request: Any, **_: Any) -> AWSResponse:
        wire = wire_from_prepared(request)
        self.seen.append(wire)
        request_id = str(uuid.uuid4())
        try:
            creds, _scope = verify(
                wire.method,
                wire.path,
                wire.query,
                wire.headers,
                wire.body,
                lookup,
                datetime.now(UTC),
            )
        except AuthError as err:
            ns = STS_XML_NAMESPACE if self.protocol == "query" else None
            status, headers, body = render_auth_error(
                err, self.protocol, request_id, xml_namespace=ns
            )
        else:
            if self.protocol == "query":
                status, headers, body = handle_sts(
                    parse_query_params(wire.body), "query", creds, request_id
                )
            else:
                status, body = self.answer(wire)
                headers = [("x-amzn-RequestId", request_id), ("Content-Type", "application/json")]
        headers = [*headers, ("Content-Length", str(len(body)))]
        return AWSResponse(request.url, status, dict(headers), FakeRaw(body))


def client(service: str, server: FakeServer, secret: str = SK, key: str = AK) -> Any:
    c = boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    c.meta.events.register("before-send", server)
    return c


def lambda_answer(wire: Wire) -> tuple[int, bytes]:
    if wire.method == "DELETE":
        return 204, b""
    return 200, b"{}"


def test_lambda_operations_verify() -> None:
    server = FakeServer("rest-json", lambda_answer)
    lam = client("lambda", server)
    lam.list_functions(Marker="abc/=+", MaxItems=10)
    lam.get_function(FunctionName=f"{FN}:$LATEST")
    resp = lam.invoke(
        FunctionName=FN,
        Qualifier="$LATEST",
        Payload=bytes(range(256)),
        LogType="Tail",
        ClientContext="eyJjdXN0b20iOnt9fQ==",
    )
    assert resp["Payload"].read() == b"{}"
    lam.invoke(FunctionName="my-fn", Payload=b"")
    lam.untag_resource(Resource=FN, TagKeys=["a b", "c"])
    lam.get_layer_version_by_arn(Arn=f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:l:3")
    lam.list_provisioned_concurrency_configs(FunctionName="my-fn")
    lam.create_function(
        FunctionName="f",
        Role=f"arn:aws:iam::{ACCOUNT}:role/r",
        Code={"ZipFile": b"PK\x03\x04"},
        Runtime="python3.12",
        Handler="a.b",
    )
    queries = [w.query for w in server.seen]
    assert "Marker=abc%2F%3D%2B" in queries[0]
    assert "%24LATEST" in server.seen[1].path
    assert queries[4] == "tagKeys=a%20b&tagKeys=c"
    assert queries[6] == "List=ALL"


@pytest.mark.parametrize(
    ("kwargs", "code", "message"),
    [
        (
            {"secret": SK + "x"},
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check "
            "your AWS Secret Access Key and signing method. Consult the service documentation for "
            "details.",
        ),
        (
            {"key": "AKIDUNKNOWN"},
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
    ],
)
def test_lambda_auth_failures_reach_boto3(kwargs: dict[str, str], code: str, message: str) -> None:
    lam = client("lambda", FakeServer("rest-json", lambda_answer), **kwargs)
    with pytest.raises(ClientError) as info:
        lam.list_functions()
    err = info.value.response
    assert (err["Error"]["Code"], err["Error"]["Message"]) == (code, message)
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_sts_get_caller_identity() -> None:
    server = FakeServer("query", lambda_answer)
    ident = client("sts", server).get_caller_identity()
    assert ident["Account"] == ACCOUNT
    assert ident["Arn"] == CREDS.principal_arn
    assert ident["UserId"].startswith("AIDA") and len(ident["UserId"]) == 21
    assert ident["ResponseMetadata"]["RequestId"]
    assert server.seen[0].body == b"Action=GetCallerIdentity&Version=2011-06-15"


@pytest.mark.parametrize(
    ("kwargs", "code", "message"),
    [
        (
            {"secret": SK + "x"},
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check "
            "your AWS Secret Access Key and signing method. Consult the service documentation for "
            "details.",
        ),
        (
            {"key": "AKIDUNKNOWN"},
            "InvalidClientTokenId",
            "The security token included in the request is invalid",
        ),
    ],
)
def test_sts_auth_failures_reach_boto3(kwargs: dict[str, str], code: str, message: str) -> None:
    sts = client("sts", FakeServer("query", lambda_answer), **kwargs)
    with pytest.raises(ClientError) as info:
        sts.get_caller_identity()
    err = info.value.response
    assert (err["Error"]["Code"], err["Error"]["Message"], err["Error"]["Type"]) == (
        code,
        message,
        "Sender",
    )
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403
