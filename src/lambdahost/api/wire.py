"""The single place where errors become HTTP responses.

Rest-JSON (Lambda): ``x-amzn-ErrorType`` carries the code, the body carries
``Type`` (User for 4xx, Service for 5xx) and the message under the key casing
of the error's shape, plus any extra fields (``Reason``). botocore then raises
the modelled exception class. Query-protocol services (STS) get XML errors.
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

from lambdahost.api.http import Response
from lambdahost.errors import ApiError


def rest_json_error(error: ApiError, request_id: str) -> Response:
    body: dict[str, object] = {
        "Type": "User" if error.status < 500 else "Service",
        error.message_key: error.message,
    }
    body.update(error.fields)
    headers = [
        (b"x-amzn-errortype", error.code.encode()),
        (b"content-type", b"application/json"),
    ]
    headers.extend((k.lower().encode(), v.encode()) for k, v in error.headers.items())
    return Response(error.status, json.dumps(body).encode(), headers)


def query_xml_error(error: ApiError, request_id: str) -> Response:
    kind = "Sender" if error.status < 500 else "Receiver"
    body = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>{kind}</Type><Code>{escape(error.code)}</Code>"
        f"<Message>{escape(error.message)}</Message></Error>"
        f"<RequestId>{escape(request_id)}</RequestId></ErrorResponse>"
    )
    return Response(error.status, body.encode(), [(b"content-type", b"text/xml")])


def json_protocol_error(error: ApiError, request_id: str) -> Response:
    body = {"__type": error.code, "message": error.message}
    return Response(
        error.status,
        json.dumps(body).encode(),
        [
            (b"content-type", b"application/x-amz-json-1.0"),
            (b"x-amzn-errortype", error.code.encode()),
        ],
    )
