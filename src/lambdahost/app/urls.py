"""Presigned-style URLs for downloading a function's code (GetFunction's Code.Location).

The URL carries an expiry and an HMAC over the path, keyed by a server secret,
so it works without credentials for 10 minutes, like an S3 presigned URL.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

URL_LIFETIME_S = 600
CODE_PATH = "/_lambdahost/code"


def _signature(key: bytes, name: str, sha: str, expires: int) -> str:
    return hmac.new(key, f"{name}\n{sha}\n{expires}".encode(), hashlib.sha256).hexdigest()


def sign_code_url(endpoint: str, name: str, sha: str, key: bytes, now: float) -> str:
    expires = int(now) + URL_LIFETIME_S
    sig = _signature(key, name, sha, expires)
    return (
        f"{endpoint}{CODE_PATH}/{quote(name)}?sha={quote(sha, safe='')}"
        f"&expires={expires}&signature={sig}"
    )


def verify_code_url(
    name: str, sha: str, expires: str, signature: str, key: bytes, now: float
) -> bool:
    try:
        deadline = int(expires)
    except ValueError:
        return False
    if deadline < now:
        return False
    return hmac.compare_digest(_signature(key, name, sha, deadline), signature)
