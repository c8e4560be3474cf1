"""errors_wire.render_auth_error and sts.handle_sts, read back with botocore's own parsers."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import botocore.parsers
import botocore.session
import pytest
from botocore.awsrequest import HeadersDict
from sigv4_testkit import ACCOUNT, CREDS

from lambdahost.auth.errors_wire import render_auth_error
from lambdahost.auth.sigv4 import MSG_SIGNATURE_MISMATCH, AuthError
from lambdahost.auth.sts import (
    STS_XML_NAMESPACE,
    handle_sts,
    parse_query_params,
    user_id,
)

RID = "8d9ac6a0-54a1-4f33-9a1b-0c3f2f5b7e11"
_STS_MODEL = botocore.session.get_session().get_service_model("sts")


def botocore_parse(
    protocol: str, status: int, headers: list[tuple[str, str]], body: bytes, shape: Any = None
) -> dict[str, Any]:
    parser = botocore.parsers.create_parser(protocol)
    # On the wire botocore hands parsers a case-insensitive header dict.
    response = {"status_code": status, "headers": HeadersDict(dict(headers)), "body": body}
    return parser.parse(response, shape)  # type: ignore[no-any-return]


# --- errors_wire --------------------------------------------------------------------------------


def test_rest_json_error() -> None:
    err = AuthError("InvalidSignatureException", MSG_SIGNATURE_MISMATCH)
    status, headers, body = render_auth_error(err, "rest-json", RID)
    assert status == 403
    assert ("x-amzn-ErrorType", "InvalidSignatureException") in headers
    assert body == b'{"message":"' + MSG_SIGNATURE_MISMATCH.encode() + b'"}'
    parsed = botocore_parse("rest-json", status, headers, body)
    assert parsed["Error"] == {
        "Code": "InvalidSignatureException",
        "Message": MSG_SIGNATURE_MISMATCH,
    }
    assert parsed["ResponseMetadata"]["RequestId"] == RID


def test_unrecognized_client_body_matches_aws_length() -> None:
    # Lambda's real 403 for an unknown key carries a 68-byte body: {"message":"...invalid."}
    err = AuthError(
        "UnrecognizedClientException", "The security token included in the request is invalid."
    )
    assert len(render_auth_error(err, "rest-json", RID)[2]) == 68


def test_json_protocol_error_with_query_compatible_code() -> None:
    err = AuthError(
        "UnrecognizedClientException", "The security token included in the request is invalid."
    )
    status, headers, body = render_auth_error(err, "json", RID)
    parsed = botocore_parse("json", status, headers, body)
    # botocore swaps in the query code for awsQueryCompatible services (SQS) via the header.
    assert parsed["Error"]["Code"] == "InvalidClientTokenId"
    assert parsed["Error"]["QueryErrorCode"] == "UnrecognizedClientException"
    assert parsed["Error"]["Message"] == err.message


@pytest.mark.parametrize(
    ("code", "message", "query_code", "query_message", "status"),
    [
        (
            "InvalidSignatureException",
            MSG_SIGNATURE_MISMATCH,
            "SignatureDoesNotMatch",
            MSG_SIGNATURE_MISMATCH,
            403,
        ),
        (
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            "InvalidClientTokenId",
            "The security token included in the request is invalid",
            403,
        ),
        (
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
            403,
        ),
        ("IncompleteSignatureException", "x & <y>", "IncompleteSignature", "x & <y>", 400),
        ("AccessDenied", "Request has expired", "AccessDenied", "Request has expired", 403),
    ],
)
def test_query_error(
    code: str, message: str, query_code: str, query_message: str, status: int
) -> None:
    got_status, headers, body = render_auth_error(
        AuthError(code, message), "query", RID, xml_namespace=STS_XML_NAMESPACE
    )
    assert got_status == status
    assert body.startswith(b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">')
    parsed = botocore_parse("query", got_status, headers, body)
    assert parsed["Error"] == {"Type": "Sender", "Code": query_code, "Message": query_message}
    assert parsed["ResponseMetadata"]["RequestId"] == RID


def test_unknown_protocol_is_refused() -> None:
    with pytest.raises(ValueError, match="rest-xml"):
        render_auth_error(AuthError("X", "y"), "rest-xml", RID)


# --- sts ----------------------------------------------------------------------------------------


def test_get_caller_identity_parses_with_botocore() -> None:
    params = parse_query_params(b"Action=GetCallerIdentity&Version=2011-06-15")
    status, headers, body = handle_sts(params, "query", CREDS, RID)
    assert status == 200
    assert ("Content-Type", "text/xml") in headers
    shape = _STS_MODEL.operation_model("GetCallerIdentity").output_shape
    parsed = botocore_parse("query", status, headers, body, shape)
    assert parsed["Account"] == ACCOUNT
    assert parsed["Arn"] == CREDS.principal_arn
    assert parsed["UserId"] == user_id(CREDS)
    assert parsed["ResponseMetadata"]["RequestId"] == RID


def test_unknown_action_is_invalid_action() -> None:
    status, headers, body = handle_sts(
        {"Action": "AssumeRole", "Version": "2011-06-15"}, "query", CREDS, RID
    )
    parsed = botocore_parse("query", status, headers, body)
    assert status == 400
    assert parsed["Error"] == {
        "Type": "Sender",
        "Code": "InvalidAction",
        "Message": "Could not find operation AssumeRole for version 2011-06-15",
    }
    status, _, body = handle_sts(
        {"Action": "GetCallerIdentity", "Version": "2099-01-01"}, "query", CREDS, RID
    )
    assert status == 400 and b"for version 2099-01-01" in body
    status, _, body = handle_sts({}, "query", CREDS, RID)
    assert status == 400 and b"<Code>MissingAction</Code>" in body


def test_sts_refuses_other_protocols() -> None:
    with pytest.raises(ValueError, match="query"):
        handle_sts({"Action": "GetCallerIdentity"}, "json", CREDS, RID)


def test_xml_values_are_escaped() -> None:
    odd = replace(CREDS, principal_arn="arn:aws:iam::123456789012:user/a&b<c>")
    status, headers, body = handle_sts({"Action": "GetCallerIdentity"}, "query", odd, RID)
    shape = _STS_MODEL.operation_model("GetCallerIdentity").output_shape
    assert botocore_parse("query", status, headers, body, shape)["Arn"] == odd.principal_arn


def test_parse_query_params() -> None:
    assert parse_query_params("Action=GetCallerIdentity&Version=2011-06-15&X=a+b%2Bc&E=") == {
        "Action": "GetCallerIdentity",
        "Version": "2011-06-15",
        "X": "a b+c",
        "E": "",
    }
    assert parse_query_params(b"") == {}


def test_user_id_shapes() -> None:
    def for_arn(arn: str) -> str:
        return user_id(replace(CREDS, principal_arn=arn))

    assert for_arn(f"arn:aws:iam::{ACCOUNT}:root") == ACCOUNT
    user = for_arn(f"arn:aws:iam::{ACCOUNT}:user/alice")
    assert user.startswith("AIDA") and len(user) == 21 and user.isalnum() and user.isupper()
    assert user == for_arn(f"arn:aws:iam::{ACCOUNT}:user/alice")  # stable
    role = for_arn(f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/ci-run-7")
    assert role.startswith("AROA") and role.endswith(":ci-run-7") and len(role) == 30
    assert for_arn(f"arn:aws:sts::{ACCOUNT}:federated-user/bob") == f"{ACCOUNT}:bob"
