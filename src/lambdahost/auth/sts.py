"""STS ``GetCallerIdentity``, the one STS operation lambdahost answers.

Scope: pure request parsing and response rendering for the STS query protocol (the only
protocol the botocore STS model lists): ``parse_query_params`` reads an
``application/x-www-form-urlencoded`` body or query string, ``handle_sts`` returns
(status, headers, body) for ``GetCallerIdentity`` or STS's ``InvalidAction`` error. The request
must already be verified by ``sigv4.verify``; its ``Credentials`` say who the caller is.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from lambdahost.auth.errors_wire import WireResponse
from lambdahost.auth.sigv4 import Credentials

__all__ = ["STS_API_VERSION", "STS_XML_NAMESPACE", "handle_sts", "parse_query_params", "user_id"]

STS_API_VERSION = "2011-06-15"
STS_XML_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"


def parse_query_params(data: bytes | str) -> dict[str, str]:
    """Parse a query-protocol form body (or query string) into a dict; the last value wins.

    ``+`` means a space and percent escapes are decoded, as in HTML forms.
    """
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return dict(parse_qsl(text, keep_blank_values=True))


def _unique_suffix(principal_arn: str) -> str:
    """17 upper-case base32 characters derived from the ARN, the length of AWS's unique ids."""
    digest = hashlib.sha256(principal_arn.encode()).digest()
    return base64.b32encode(digest).decode()[:17]


def user_id(creds: Credentials) -> str:
    """The ``UserId`` GetCallerIdentity reports, shaped like AWS's for the principal's type.

    Root: the account id. IAM user: ``AIDA...``. Assumed role: ``AROA...:<session name>``.
    Federated user: ``<account>:<name>``. lambdahost has no unique-id registry, so the
    suffix is derived from the principal ARN and is stable across restarts.
    """
    arn = creds.principal_arn
    resource = arn.split(":", 5)[5] if arn.count(":") >= 5 else arn
    if resource == "root":
        return creds.account_id
    if resource.startswith("assumed-role/"):
        parts = resource.split("/")
        session = parts[2] if len(parts) > 2 else ""
        role_arn = f"arn:aws:iam::{creds.account_id}:role/{parts[1] if len(parts) > 1 else ''}"
        return f"AROA{_unique_suffix(role_arn)}:{session}"
    if resource.startswith("federated-user/"):
        return f"{creds.account_id}:{resource.split('/', 1)[1]}"
    return f"AIDA{_unique_suffix(arn)}"


def _headers(request_id: str) -> list[tuple[str, str]]:
    return [("x-amzn-RequestId", request_id), ("Content-Type", "text/xml")]


def _error(code: str, message: str, request_id: str, status: int = 400) -> WireResponse:
    xml = (
        f'<ErrorResponse xmlns="{STS_XML_NAMESPACE}">\n'
        "  <Error>\n"
        "    <Type>Sender</Type>\n"
        f"    <Code>{escape(code)}</Code>\n"
        f"    <Message>{escape(message)}</Message>\n"
        "  </Error>\n"
        f"  <RequestId>{escape(request_id)}</RequestId>\n"
        "</ErrorResponse>\n"
    )
    return status, _headers(request_id), xml.encode()


def _get_caller_identity(creds: Credentials, request_id: str) -> WireResponse:
    xml = (
        f'<GetCallerIdentityResponse xmlns="{STS_XML_NAMESPACE}">\n'
        "  <GetCallerIdentityResult>\n"
        f"    <Arn>{escape(creds.principal_arn)}</Arn>\n"
        f"    <UserId>{escape(user_id(creds))}</UserId>\n"
        f"    <Account>{escape(creds.account_id)}</Account>\n"
        "  </GetCallerIdentityResult>\n"
        "  <ResponseMetadata>\n"
        f"    <RequestId>{escape(request_id)}</RequestId>\n"
        "  </ResponseMetadata>\n"
        "</GetCallerIdentityResponse>\n"
    )
    return 200, _headers(request_id), xml.encode()


def handle_sts(
    action_params: Mapping[str, str], protocol: str, creds: Credentials, request_id: str
) -> WireResponse:
    """Answer an authenticated STS request: (status, headers, body).

    Args:
        action_params: the decoded query parameters (``Action``, ``Version`` ...).
        protocol: the wire protocol; STS's model lists only ``"query"``.
        creds: the verified caller.
        request_id: reported in ``x-amzn-RequestId`` and ``ResponseMetadata``.

    Raises:
        ValueError: for a protocol other than ``"query"``.
    """
    if protocol != "query":
        raise ValueError(f"STS speaks only the query protocol, not {protocol!r}")
    action = action_params.get("Action")
    if not action:
        return _error("MissingAction", "Missing Action", request_id)
    version = action_params.get("Version") or STS_API_VERSION
    if action == "GetCallerIdentity" and version == STS_API_VERSION:
        return _get_caller_identity(creds, request_id)
    return _error(
        "InvalidAction", f"Could not find operation {action} for version {version}", request_id
    )
