"""Test helpers: sign requests with botocore (the reference signer) and replay them server-side.

Scope: turn a botocore-signed ``AWSPreparedRequest`` into the arguments ``sigv4.verify`` takes,
as an HTTP server would see them (raw path, raw query, lower-cased headers incl. ``host``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import botocore.auth
import botocore.awsrequest
import botocore.credentials

from lambdahost.auth.sigv4 import Credentials

AK = "AKIDEXAMPLE00000001"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ACCOUNT = "123456789012"
CREDS = Credentials(AK, SK, ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/alice")
SIGNED_AT = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


def lookup(akid: str) -> Credentials | None:
    return CREDS if akid == AK else None


@dataclass(frozen=True)
class Wire:
    """A request as the server receives it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def with_header(self, name: str, value: str | None) -> Wire:
        headers = dict(self.headers)
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
        return replace(self, headers=headers)


def wire_from_prepared(prepared: Any) -> Wire:
    """Convert a botocore ``AWSPreparedRequest`` to what the server sees."""
    parts = urlsplit(prepared.url)
    headers = {
        k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()
    }
    headers.setdefault("host", parts.netloc)  # added by the HTTP client on the wire
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes):
        body = body.read()
    return Wire(prepared.method, parts.path, parts.query, headers, body)


@dataclass
class _FrozenClock:
    when: datetime

    def __call__(self, remove_tzinfo: bool = True) -> datetime:
        return self.when.replace(tzinfo=None) if remove_tzinfo else self.when


def sign(
    method: str,
    url: str,
    body: bytes | str = b"",
    headers: dict[str, str] | None = None,
    *,
    service: str = "lambda",
    region: str = "us-east-1",
    access_key: str = AK,
    secret: str = SK,
    token: str | None = None,
    when: datetime = SIGNED_AT,
    signer: type[Any] = botocore.auth.SigV4Auth,
    **signer_kwargs: Any,
) -> Wire:
    """Sign one request with botocore at a fixed time and return it as the server sees it."""
    request = botocore.awsrequest.AWSRequest(
        method=method, url=url, data=body, headers=dict(headers or {})
    )
    creds = botocore.credentials.Credentials(access_key, secret, token)
    with mock.patch.object(botocore.auth, "get_current_datetime", _FrozenClock(when)):
        signer(creds, service, region, **signer_kwargs).add_auth(request)
    return wire_from_prepared(request.prepare())


class FakeRaw:
    """Just enough of urllib3's response for botocore to read a canned body."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def stream(self, amt: int | None = None, decode_content: bool = True) -> Iterator[bytes]:
        if self._data:
            yield self._data

    def read(self, amt: int | None = None, decode_content: bool = True) -> bytes:
        end = len(self._data) if amt is None else self._pos + amt
        chunk = self._data[self._pos : end]
        self._pos += len(chunk)
        return chunk

    def close(self) -> None:
        pass
