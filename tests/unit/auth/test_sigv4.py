"""sigv4.verify / parse_scope against requests signed by botocore, the reference signer."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import botocore.auth
import pytest
from sigv4_testkit import AK, CREDS, SIGNED_AT, SK, Wire, lookup, sign

from lambdahost.auth.sigv4 import (
    MSG_SIGNATURE_MISMATCH,
    AuthError,
    Credentials,
    SignedScope,
    parse_scope,
    verify,
)

BASE = "http://127.0.0.1:9001"
FN_ARN = "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn%3A%24LATEST"


def check(wire: Wire, now: datetime = SIGNED_AT, **kwargs: object) -> SignedScope:
    creds, scope = verify(
        wire.method,
        wire.path,
        wire.query,
        wire.headers,
        wire.body,
        lookup,
        now,
        **kwargs,  # type: ignore[arg-type]
    )
    assert creds == CREDS
    return scope


def rejected(wire: Wire, now: datetime = SIGNED_AT, **kwargs: object) -> AuthError:
    with pytest.raises(AuthError) as info:
        check(wire, now, **kwargs)
    return info.value


# --- accepted requests --------------------------------------------------------------------------

ACCEPTED = {
    "list-functions": ("GET", "/2015-03-31/functions/", b"", {}),
    "marker": ("GET", "/2015-03-31/functions/?MaxItems=10&Marker=abc%2F%3D%2B", b"", {}),
    "invoke-arn-latest": (
        "POST",
        f"/2015-03-31/functions/{FN_ARN}/invocations?Qualifier=%24LATEST",
        b'{"k": "v"}',
        {"X-Amz-Invocation-Type": "RequestResponse", "X-Amz-Log-Type": "Tail"},
    ),
    "binary-body": (
        "POST",
        "/2015-03-31/functions/my-fn/invocations",
        bytes(range(256)) * 4,
        {},
    ),
    "empty-post": ("POST", "/2015-03-31/functions/my-fn/versions", b"", {}),
    "json-body": (
        "POST",
        "/2015-03-31/functions",
        b'{"FunctionName": "f", "Runtime": "python3.12", "Code": {"ZipFile": "UEsDBA=="}}',
        {"Content-Type": "application/json"},
    ),
    "repeated-tag-keys": ("DELETE", f"/2017-03-31/tags/{FN_ARN}?tagKeys=a%20b&tagKeys=c", b"", {}),
    "layer-by-arn": (
        "GET",
        "/2018-10-31/layers?find=LayerVersion&Arn=arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012"
        "%3Alayer%3Al%3A3",
        b"",
        {},
    ),
    "list-all": ("GET", "/2019-09-30/functions/my-fn/provisioned-concurrency?List=ALL", b"", {}),
    "unicode-query": ("GET", "/2015-03-31/functions/?Marker=%E2%9C%93%20x", b"", {}),
    "blank-value": ("GET", "/2015-03-31/functions/?Marker=&MaxItems=5", b"", {}),
    "dot-segments": ("GET", "/2015-03-31/./functions//my-fn/../other/", b"", {}),
    "messy-header": (
        "POST",
        "/2015-03-31/functions/my-fn/invocations",
        b"{}",
        {"X-Amz-Client-Context": "  eyJh  IjoxfQ==  ", "X-Custom": "a\t b"},
    ),
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_botocore_signed_lambda_requests_verify(case: str) -> None:
    method, path, body, headers = ACCEPTED[case]
    scope = check(sign(method, BASE + path, body, headers))
    assert scope == SignedScope(AK, "20261122", "us-east-1", "lambda")


def test_default_port_host_and_https() -> None:
    check(sign("GET", "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/"))


def test_sts_query_post_verifies() -> None:
    wire = sign(
        "POST",
        "https://sts.amazonaws.com/",
        b"Action=GetCallerIdentity&Version=2011-06-15",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        service="sts",
    )
    assert check(wire).service == "sts"


def test_date_header_instead_of_x_amz_date() -> None:
    # botocore signs with the Date header when the request carries one.
    wire = sign("GET", BASE + "/2015-03-31/functions/", headers={"Date": "placeholder"})
    assert "x-amz-date" not in wire.headers
    assert wire.headers["date"] == "Sun, 22 Nov 2026 12:00:00 -0000"
    check(wire)


def test_session_token_is_signed_and_checked() -> None:
    temp = replace(CREDS, session_token="FwoGZXIvYXdzEXAMPLE")
    wire = sign("GET", BASE + "/2015-03-31/functions/", token="FwoGZXIvYXdzEXAMPLE")

    def temp_lookup(akid: str) -> Credentials | None:
        return temp if akid == AK else None

    got, _ = verify(
        wire.method, wire.path, wire.query, wire.headers, wire.body, temp_lookup, SIGNED_AT
    )
    assert got == temp
    stale = replace(temp, session_token="another-token")
    with pytest.raises(AuthError) as info:
        verify(
            wire.method, wire.path, wire.query, wire.headers, wire.body, lambda _: stale, SIGNED_AT
        )
    assert info.value.code == "UnrecognizedClientException"


def test_unsigned_payload_header_is_honoured() -> None:
    wire = sign(
        "POST",
        BASE + "/2015-03-31/functions/f/invocations",
        b"abc",
        {"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
    )
    check(wire)
    check(replace(wire, body=b"other body"))  # the body is not covered by the signature


def test_signed_payload_header_must_match_body() -> None:
    wire = sign(
        "PUT", BASE + "/bucket/key", b"data", service="s3", signer=botocore.auth.S3SigV4Auth
    )
    assert "x-amz-content-sha256" in wire.headers
    check(wire)
    err = rejected(replace(wire, body=b"tampered"))
    assert (err.code, err.status) == ("XAmzContentSHA256Mismatch", 400)


def test_s3_path_is_not_double_encoded() -> None:
    path = "/my-bucket/dir%20one/a%2Bb/./x//y"
    wire = sign(
        "GET",
        BASE + path + "?list-type=2&prefix=a%2F",
        service="s3",
        signer=botocore.auth.S3SigV4Auth,
    )
    assert wire.path == path
    assert check(wire).service == "s3"


def test_region_and_service_restrictions() -> None:
    wire = sign("GET", BASE + "/2015-03-31/functions/", region="eu-west-1")
    check(wire, service="lambda", regions={"eu-west-1"})
    err = rejected(wire, service="sts")
    assert err.message == "Credential should be scoped to correct service: 'sts'. "
    err = rejected(wire, regions={"us-east-1"})
    assert err.message == "Credential should be scoped to a valid region, not 'eu-west-1'. "


def test_skew_within_15_minutes_is_accepted() -> None:
    wire = sign("GET", BASE + "/2015-03-31/functions/")
    check(wire, now=SIGNED_AT + timedelta(minutes=15))
    check(wire, now=SIGNED_AT - timedelta(minutes=15))
    check(wire, now=(SIGNED_AT + timedelta(minutes=3)).replace(tzinfo=None))  # naive = UTC


def test_signing_key_cache_does_not_leak_between_secrets() -> None:
    wire = sign("GET", BASE + "/2015-03-31/functions/")
    check(wire)
    other = replace(CREDS, secret_access_key=SK + "x")
    with pytest.raises(AuthError) as info:
        verify(
            wire.method, wire.path, wire.query, wire.headers, wire.body, lambda _: other, SIGNED_AT
        )
    assert info.value.message == MSG_SIGNATURE_MISMATCH


# --- presigned URLs -----------------------------------------------------------------------------


def test_presigned_lambda_url() -> None:
    wire = sign(
        "GET",
        BASE + f"/2015-03-31/functions/{FN_ARN}?Qualifier=%24LATEST",
        signer=botocore.auth.SigV4QueryAuth,
        expires=3600,
    )
    assert "authorization" not in wire.headers
    assert "X-Amz-Signature=" in wire.query
    assert check(wire, now=SIGNED_AT + timedelta(minutes=59)).service == "lambda"
    assert parse_scope(wire.headers, wire.query) == SignedScope(
        AK, "20261122", "us-east-1", "lambda"
    )


def test_presigned_sts_get_caller_identity() -> None:
    wire = sign(
        "GET",
        "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
        service="sts",
        signer=botocore.auth.SigV4QueryAuth,
        expires=60,
    )
    check(wire)


def test_presigned_s3_url_uses_unsigned_payload_and_expires_exactly() -> None:
    wire = sign(
        "GET",
        BASE + "/bucket/some%20key.txt",
        service="s3",
        signer=botocore.auth.S3SigV4QueryAuth,
        expires=300,
    )
    check(wire, now=SIGNED_AT + timedelta(seconds=300))
    err = rejected(wire, now=SIGNED_AT + timedelta(seconds=301))
    assert (err.code, err.message) == ("AccessDenied", "Request has expired")


def test_presigned_expiry_and_tampering() -> None:
    wire = sign(
        "GET",
        BASE + "/2015-03-31/functions/f?Qualifier=1",
        signer=botocore.auth.SigV4QueryAuth,
        expires=3600,
    )
    err = rejected(wire, now=SIGNED_AT + timedelta(minutes=61))
    assert err.message == (
        "Signature expired: 20261122T120000Z is now earlier than 20261122T120100Z "
        "(20261122T130100Z - 60 min.)"
    )
    assert (
        rejected(replace(wire, query=wire.query.replace("Qualifier=1", "Qualifier=2"))).message
        == MSG_SIGNATURE_MISMATCH
    )
    assert rejected(replace(wire, path="/2015-03-31/functions/g")).code == (
        "InvalidSignatureException"
    )
    broken = replace(wire, query=wire.query.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256&", ""))
    assert rejected(broken).code == "IncompleteSignatureException"


# --- rejected requests --------------------------------------------------------------------------


def _lambda_wire() -> Wire:
    return sign(
        "POST",
        BASE + f"/2015-03-31/functions/{FN_ARN}/invocations?Qualifier=%24LATEST",
        b'{"a": 1}',
        {"Content-Type": "application/json"},
    )


def test_wrong_secret() -> None:
    wire = sign("GET", BASE + "/2015-03-31/functions/", secret=SK + "x")
    err = rejected(wire)
    assert (err.code, err.status, err.message) == (
        "InvalidSignatureException",
        403,
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. Consult the service "
        "documentation for details.",
    )


@pytest.mark.parametrize(
    "tamper",
    [
        lambda w: replace(w, path=w.path.replace("my-fn", "my-fm")),
        lambda w: replace(w, path=w.path.replace("%24LATEST", "$LATEST")),
        lambda w: replace(w, query="Qualifier=1"),
        lambda w: replace(w, query=w.query + "&x=1"),
        lambda w: replace(w, query=""),
        lambda w: replace(w, body=b'{"a": 2}'),
        lambda w: replace(w, body=b""),
        lambda w: replace(w, method="PUT"),
        lambda w: w.with_header("content-type", "text/plain"),
        lambda w: w.with_header("host", "127.0.0.1:9002"),
        lambda w: w.with_header("content-type", None),
    ],
    ids=[
        "path",
        "path-decoded",
        "query",
        "query-extra",
        "query-dropped",
        "body",
        "body-empty",
        "method",
        "header",
        "host",
        "header-missing",
    ],
)
def test_tampering_is_detected(tamper: object) -> None:
    wire = _lambda_wire()
    check(wire)
    err = rejected(tamper(wire))  # type: ignore[operator]
    assert (err.code, err.status, err.message) == (
        "InvalidSignatureException",
        403,
        MSG_SIGNATURE_MISMATCH,
    )


def test_unsigned_extra_header_is_ignored() -> None:
    check(_lambda_wire().with_header("user-agent", "curl/8"))


def test_unknown_access_key() -> None:
    err = rejected(sign("GET", BASE + "/2015-03-31/functions/", access_key="AKIDUNKNOWN"))
    assert (err.code, err.status, err.message) == (
        "UnrecognizedClientException",
        403,
        "The security token included in the request is invalid.",
    )


def test_expired_and_future_signatures() -> None:
    wire = sign("GET", BASE + "/2015-03-31/functions/")
    err = rejected(wire, now=SIGNED_AT + timedelta(minutes=30))
    assert (err.code, err.status) == ("InvalidSignatureException", 403)
    assert err.message == (
        "Signature expired: 20261122T120000Z is now earlier than 20261122T121500Z "
        "(20261122T123000Z - 15 min.)"
    )
    err = rejected(wire, now=SIGNED_AT - timedelta(minutes=20))
    assert err.message == (
        "Signature not yet current: 20261122T120000Z is still later than 20261122T115500Z "
        "(20261122T114000Z + 15 min.)"
    )


def test_scope_date_must_match_request_date() -> None:
    wire = sign("GET", BASE + "/2015-03-31/functions/")
    moved = wire.with_header("x-amz-date", "20261123T000500Z")
    err = rejected(moved, now=datetime(2026, 11, 23, 0, 5, tzinfo=UTC))
    assert (err.code, err.message) == (
        "InvalidSignatureException",
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '20261122' != '20261123', from '20261123T000500Z'.",
    )


def test_missing_authentication() -> None:
    wire = sign("GET", BASE + "/2015-03-31/functions/").with_header("authorization", None)
    err = rejected(wire)
    assert (err.code, err.status, err.message) == (
        "MissingAuthenticationTokenException",
        403,
        "Missing Authentication Token",
    )
    assert parse_scope(wire.headers, wire.query) is None


def test_malformed_authorization_headers() -> None:
    wire = sign("GET", BASE + "/2015-03-31/functions/")
    good = wire.headers["authorization"]

    err = rejected(wire.with_header("authorization", "Bearer abc.def"))
    assert (err.code, err.message) == (
        "IncompleteSignatureException",
        "Authorization header requires 'Credential' parameter. Authorization header requires "
        "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
        "Authorization=Bearer abc.def",
    )
    spaced = good.replace("Credential=", "Credential= ")
    err = rejected(wire.with_header("authorization", spaced))
    assert err.message == (
        f"'{AK}/20261122/us-east-1/lambda/aws4_request' not a valid key=value pair "
        f"(missing equal-sign) in Authorization header: '{spaced}'."
    )
    no_sig = good.split(", Signature=")[0]
    err = rejected(wire.with_header("authorization", no_sig).with_header("x-amz-date", None))
    assert err.message == (
        "Authorization header requires 'Signature' parameter. Authorization header requires "
        "existence of either a 'X-Amz-Date' or a 'Date' header. "
        f"Authorization={no_sig}"
    )
    short = good.replace("/us-east-1/lambda/aws4_request", "/us-east-1/aws4_request")
    err = rejected(wire.with_header("authorization", short))
    assert err.message == (
        "Credential must have exactly 5 slash-delimited elements, e.g. "
        f"keyid/date/region/service/term, got '{AK}/20261122/us-east-1/aws4_request'"
    )
    err = rejected(wire.with_header("x-amz-date", "2026-11-22T12:00:00Z"))
    assert err.message == (
        "Date must be in ISO-8601 'basic format'. Got '2026-11-22T12:00:00Z'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )
    assert all(e.status == 403 for e in [err])


def test_tolerant_parser_accepts_reordered_parameters() -> None:
    wire = sign("GET", BASE + "/2015-03-31/functions/")
    algo, rest = wire.headers["authorization"].split(" ", 1)
    parts = rest.split(", ")
    reordered = f"{algo} {parts[2]},{parts[0]},  {parts[1]}"
    check(wire.with_header("authorization", reordered))


def test_non_ascii_signature_is_a_mismatch_not_a_crash() -> None:
    wire = sign("GET", BASE + "/2015-03-31/functions/")
    head, _, _ = wire.headers["authorization"].rpartition("Signature=")
    assert rejected(wire.with_header("authorization", head + "Signature=é" * 3)).code == (
        "InvalidSignatureException"
    )


# --- parse_scope --------------------------------------------------------------------------------


def test_parse_scope_from_header_and_unsigned() -> None:
    wire = sign(
        "POST",
        "https://sts.amazonaws.com/",
        b"Action=GetCallerIdentity",
        service="sts",
        region="eu-central-1",
    )
    assert parse_scope(wire.headers, wire.query) == SignedScope(
        AK, "20261122", "eu-central-1", "sts"
    )
    assert parse_scope({}, "") is None
    assert parse_scope({"authorization": "Bearer x"}, "") is None
    assert parse_scope({}, "X-Amz-Credential=only-one-part") is None


# --- speed --------------------------------------------------------------------------------------


def test_verify_is_fast_on_the_hot_path() -> None:
    wire = _lambda_wire()
    args = (wire.method, wire.path, wire.query, wire.headers, wire.body, lookup, SIGNED_AT)
    verify(*args)
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        verify(*args)
    per_call = (time.perf_counter() - start) / n
    assert per_call < 200e-6, f"verify took {per_call * 1e6:.1f} µs"
