"""How an ``AuthError`` is put on the wire, per AWS protocol.

Scope: pure rendering of authentication failures into (status, headers, body) for the three
protocols lambdahost serves: ``rest-json`` (Lambda), ``json`` (awsJson services such as SQS) and
``query`` (STS, IAM, SQS-query). Raising the errors is ``sigv4``'s job; rendering ordinary API
errors is the API layer's.

``AuthError`` codes use the JSON spelling. Query services report the same failures under their
own codes (``SignatureDoesNotMatch``, ``InvalidClientTokenId`` ...), sometimes with slightly
different wording and status; ``QUERY_EQUIVALENTS`` holds that mapping.
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

from lambdahost.auth.sigv4 import AuthError

__all__ = ["QUERY_EQUIVALENTS", "Headers", "WireResponse", "render_auth_error"]

Headers = list[tuple[str, str]]
WireResponse = tuple[int, Headers, bytes]

# JSON code -> (query code, query message or None to keep the JSON one, query status or None).
QUERY_EQUIVALENTS: dict[str, tuple[str, str | None, int | None]] = {
    "InvalidSignatureException": ("SignatureDoesNotMatch", None, None),
    "UnrecognizedClientException": (
        "InvalidClientTokenId",
        "The security token included in the request is invalid",
        None,
    ),
    "MissingAuthenticationTokenException": (
        "MissingAuthenticationToken",
        "Request is missing Authentication Token",
        None,
    ),
    "IncompleteSignatureException": ("IncompleteSignature", None, 400),
}


def _query_form(error: AuthError) -> tuple[str, str, int]:
    mapped = QUERY_EQUIVALENTS.get(error.code)
    if mapped is None:
        return error.code, error.message, error.status
    code, message, status = mapped
    return code, message if message is not None else error.message, status or error.status


def render_auth_error(
    error: AuthError, protocol: str, request_id: str, *, xml_namespace: str | None = None
) -> WireResponse:
    """Render ``error`` as ``protocol`` sends it: (status, headers, body).

    Args:
        error: the failure raised by ``sigv4.verify``.
        protocol: ``"rest-json"``, ``"json"`` or ``"query"`` (botocore's protocol names).
        request_id: the request id to report in ``x-amzn-RequestId`` (and the XML body).
        xml_namespace: for ``query``, the service's XML namespace, e.g.
            ``https://sts.amazonaws.com/doc/2011-06-15/``.

    Raises:
        ValueError: for a protocol not listed above.
    """
    if protocol == "rest-json":
        body = json.dumps({"message": error.message}, separators=(",", ":")).encode()
        return (
            error.status,
            [
                ("x-amzn-RequestId", request_id),
                ("x-amzn-ErrorType", error.code),
                ("Content-Type", "application/json"),
            ],
            body,
        )
    if protocol == "json":
        query_code = _query_form(error)[0]
        body = json.dumps(
            {"__type": f"com.amazon.coral.service#{error.code}", "message": error.message},
            separators=(",", ":"),
        ).encode()
        return (
            error.status,
            [
                ("x-amzn-RequestId", request_id),
                ("x-amzn-ErrorType", error.code),
                # Query-compatible services (SQS) let botocore report the query code.
                ("x-amzn-query-error", f"{query_code};Sender"),
                ("Content-Type", "application/x-amz-json-1.0"),
            ],
            body,
        )
    if protocol == "query":
        code, message, status = _query_form(error)
        ns = f' xmlns="{escape(xml_namespace, {chr(34): "&quot;"})}"' if xml_namespace else ""
        xml = (
            f"<ErrorResponse{ns}>\n"
            "  <Error>\n"
            "    <Type>Sender</Type>\n"
            f"    <Code>{escape(code)}</Code>\n"
            f"    <Message>{escape(message)}</Message>\n"
            "  </Error>\n"
            f"  <RequestId>{escape(request_id)}</RequestId>\n"
            "</ErrorResponse>\n"
        )
        return (
            status,
            [
                ("x-amzn-RequestId", request_id),
                ("Content-Type", "text/xml"),
            ],
            xml.encode(),
        )
    raise ValueError(f"unsupported protocol for auth errors: {protocol!r}")
