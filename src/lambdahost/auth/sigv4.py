"""AWS Signature Version 4 verification of incoming requests.

Scope: pure functions that read the credential scope of a request (``parse_scope``) and verify
its SigV4 signature (``verify``), for both header auth (``Authorization: AWS4-HMAC-SHA256 ...``)
and presigned query-string auth (``X-Amz-Signature=...``). Nothing here does I/O or reads the
clock: the caller passes ``now`` and a ``lookup`` callable for credentials. How an ``AuthError``
is rendered on the wire lives in ``errors_wire``; STS's own operations live in ``sts``.

Inputs are the request as received: the raw (still percent-encoded) path and query string, the
headers with lower-cased names (repeated headers joined with ``","``, values decoded as UTF-8)
and the body bytes. The canonical request is built the way botocore's ``SigV4Auth`` builds it
(botocore is the reference client), and errors use AWS's codes and wording in the JSON/rest-json
spelling (``InvalidSignatureException`` ...); ``errors_wire`` maps them for query services.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import quote, unquote

__all__ = [
    "ALGORITHM",
    "AuthError",
    "Credentials",
    "SignedScope",
    "parse_scope",
    "verify",
]

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_UNSIGNED_PAYLOADS = frozenset({UNSIGNED_PAYLOAD, "STREAMING-UNSIGNED-PAYLOAD-TRAILER"})
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_MAX_SKEW = timedelta(minutes=15)
_MAX_PRESIGN_EXPIRES = 604800  # seven days, the longest a SigV4 signing key is valid
# Services whose canonical URI is the path as sent (no normalisation, no second encoding),
# as botocore's S3SigV4Auth signs it.
_RAW_PATH_SERVICES = frozenset({"s3", "s3-object-lambda"})

# AWS's wording (JSON/rest-json spelling of the codes).
INVALID_SIGNATURE = "InvalidSignatureException"
UNRECOGNIZED_CLIENT = "UnrecognizedClientException"
MISSING_TOKEN = "MissingAuthenticationTokenException"
INCOMPLETE_SIGNATURE = "IncompleteSignatureException"
MSG_SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
MSG_INVALID_TOKEN = "The security token included in the request is invalid."
MSG_MISSING_TOKEN = "Missing Authentication Token"

_TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
# botocore's exact header shape; anything else goes through the tolerant parser.
_FAST_AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request, ?"
    r"SignedHeaders=([^,\s]+), ?Signature=([0-9a-f]{64})"
)
_SCOPE_RE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/")
_TOKEN_SPLIT_RE = re.compile(r"[\s,]+")
_UNRESERVED_RE = re.compile(r"[A-Za-z0-9\-_.~]*")
_HEX64_RE = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class Credentials:
    """A caller's key pair and identity.

    ``session_token`` is set for temporary credentials; requests must then carry it in
    ``X-Amz-Security-Token``.
    """

    access_key_id: str
    secret_access_key: str
    account_id: str
    principal_arn: str
    session_token: str | None = None


@dataclass(frozen=True)
class SignedScope:
    """The credential scope a request was signed for: ``<akid>/<date>/<region>/<service>``."""

    access_key_id: str
    date: str
    region: str
    service: str


class AuthError(Exception):
    """An authentication failure with AWS's error code, message and HTTP status.

    Codes are spelled as JSON/rest-json services (Lambda) send them; ``errors_wire`` maps them
    to the query-protocol spelling (``SignatureDoesNotMatch`` ...) for STS, IAM and SQS-query.
    """

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def _mismatch() -> AuthError:
    return AuthError(INVALID_SIGNATURE, MSG_SIGNATURE_MISMATCH)


# --- scope --------------------------------------------------------------------------------------


def parse_scope(headers: Mapping[str, str], query: str) -> SignedScope | None:
    """Return the credential scope a request claims, without verifying anything.

    Reads the ``Credential=`` of the ``Authorization`` header, else the ``X-Amz-Credential``
    query parameter of a presigned URL. Returns None when the request is unsigned or the scope
    cannot be read; ``verify`` then reports the precise error.
    """
    auth = headers.get("authorization")
    if auth is not None:
        m = _SCOPE_RE.search(auth)
        if m is None:
            return None
        return SignedScope(m[1], m[2], m[3], m[4])
    if "X-Amz-Credential=" not in query:
        return None
    for piece in query.split("&"):
        if piece.startswith("X-Amz-Credential="):
            parts = unquote(piece[len("X-Amz-Credential=") :]).split("/")
            if len(parts) == 5 and all(parts[:4]):
                return SignedScope(parts[0], parts[1], parts[2], parts[3])
            return None
    return None


# --- canonical request pieces -------------------------------------------------------------------


def _normalize_path(path: str) -> str:
    """Remove empty, ``.`` and ``..`` segments, keeping a leading and trailing slash."""
    if not path:
        return "/"
    if "//" not in path and "/." not in path and path[0] == "/":
        return path
    out: list[str] = []
    for segment in path.split("/"):
        if not segment or segment == ".":
            continue
        if segment == "..":
            if out:
                out.pop()
        else:
            out.append(segment)
    lead = "/" if path[0] == "/" else ""
    trail = "/" if path[-1] == "/" and out else ""
    return lead + "/".join(out) + trail


@lru_cache(maxsize=4096)
def _canonical_uri(raw_path: str, raw: bool) -> str:
    if raw:
        return raw_path or "/"
    # The path on the wire is already percent-encoded; SigV4 (non-S3) encodes it once more.
    return quote(_normalize_path(raw_path), safe="/~")


def _reencode(text: str) -> str:
    if _UNRESERVED_RE.fullmatch(text):
        return text
    return quote(unquote(text), safe="-_.~")


def _build_canonical_query(raw_query: str, skip_key: str | None) -> str:
    pairs: list[tuple[str, str]] = []
    for piece in raw_query.split("&"):
        if not piece:
            continue
        key, _, value = piece.partition("=")
        key = _reencode(key)
        if key == skip_key:
            continue
        pairs.append((key, _reencode(value)))
    pairs.sort()
    return "&".join([f"{k}={v}" for k, v in pairs])


@lru_cache(maxsize=4096)
def _canonical_query(raw_query: str) -> str:
    if not raw_query:
        return ""
    return _build_canonical_query(raw_query, None)


_KEY_CACHE: dict[tuple[str, str, str, str], bytes] = {}
_KEY_CACHE_MAX = 4096


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    cache_key = (secret, date, region, service)
    key = _KEY_CACHE.get(cache_key)
    if key is None:
        key = hmac.digest(("AWS4" + secret).encode(), date.encode(), "sha256")
        key = hmac.digest(key, region.encode(), "sha256")
        key = hmac.digest(key, service.encode(), "sha256")
        key = hmac.digest(key, b"aws4_request", "sha256")
        if len(_KEY_CACHE) >= _KEY_CACHE_MAX:
            _KEY_CACHE.clear()
        _KEY_CACHE[cache_key] = key
    return key


# --- time ---------------------------------------------------------------------------------------


def _parse_basic_timestamp(value: str) -> datetime | None:
    """Parse ``YYYYMMDD'T'HHMMSS'Z'`` without strptime (which is slow)."""
    if len(value) != 16 or value[8] != "T" or value[15] != "Z":
        return None
    digits = value[:8] + value[9:15]
    if not (digits.isascii() and digits.isdigit()):
        return None
    try:
        return datetime(
            int(value[0:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[9:11]),
            int(value[11:13]),
            int(value[13:15]),
            tzinfo=UTC,
        )
    except ValueError:
        return None


def _bad_date(value: str) -> AuthError:
    return AuthError(
        INCOMPLETE_SIGNATURE,
        f"Date must be in ISO-8601 'basic format'. Got '{value}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601",
    )


def _header_time(headers: Mapping[str, str]) -> tuple[str, datetime]:
    """The request time: ``X-Amz-Date``, else the ``Date`` header (RFC 7231 format)."""
    amz_date = headers.get("x-amz-date")
    if amz_date is not None:
        when = _parse_basic_timestamp(amz_date)
        if when is None:
            raise _bad_date(amz_date)
        return amz_date, when
    date = headers.get("date")
    if date is None:  # callers check presence first; kept for safety
        raise AuthError(INCOMPLETE_SIGNATURE, "Missing 'X-Amz-Date' or 'Date' header.")
    try:
        parsed = parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        raise _bad_date(date) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    return parsed.strftime(_TIMESTAMP_FORMAT), parsed


def _fmt(when: datetime) -> str:
    return when.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)


def _window_text(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    return f"{seconds // 60} min." if seconds % 60 == 0 else f"{seconds} sec."


def _check_time(
    amz_date: str, when: datetime, now: datetime, expired_after: timedelta = _MAX_SKEW
) -> None:
    earliest = now - expired_after
    if when < earliest:
        raise AuthError(
            INVALID_SIGNATURE,
            f"Signature expired: {amz_date} is now earlier than {_fmt(earliest)} "
            f"({_fmt(now)} - {_window_text(expired_after)})",
        )
    latest = now + _MAX_SKEW
    if when > latest:
        raise AuthError(
            INVALID_SIGNATURE,
            f"Signature not yet current: {amz_date} is still later than {_fmt(latest)} "
            f"({_fmt(now)} + 15 min.)",
        )


# --- Authorization header -----------------------------------------------------------------------


def _requires_message(missing: list[str], has_date: bool, header: str) -> str:
    parts = [f"Authorization header requires '{name}' parameter." for name in missing]
    if not has_date:
        parts.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    parts.append(f"Authorization={header}")
    return " ".join(parts)


def _split_credential(credential: str) -> tuple[str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5:
        raise AuthError(
            INCOMPLETE_SIGNATURE,
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{credential}'",
        )
    if parts[4] != "aws4_request":
        raise AuthError(
            INVALID_SIGNATURE,
            f"Credential should be scoped with a valid terminator: 'aws4_request', "
            f"not '{parts[4]}'. ",
        )
    return parts[0], parts[1], parts[2], parts[3]


def _parse_authorization(header: str, has_date: bool) -> tuple[str, str, str, str, str, str]:
    """Return (akid, scope date, region, service, signed headers, signature)."""
    m = _FAST_AUTH_RE.fullmatch(header)
    if m is not None and has_date:
        return m[1], m[2], m[3], m[4], m[5], m[6]
    algorithm, _, rest = header.strip().partition(" ")
    required = ["Credential", "Signature", "SignedHeaders"]
    if algorithm != ALGORITHM:
        raise AuthError(INCOMPLETE_SIGNATURE, _requires_message(required, has_date, header))
    params: dict[str, str] = {}
    for token in _TOKEN_SPLIT_RE.split(rest):
        if not token:
            continue
        name, eq, value = token.partition("=")
        if not eq:
            raise AuthError(
                INCOMPLETE_SIGNATURE,
                f"'{token}' not a valid key=value pair (missing equal-sign) in "
                f"Authorization header: '{header}'.",
            )
        params[name] = value
    missing = [name for name in required if name not in params]
    if missing or not has_date:
        raise AuthError(INCOMPLETE_SIGNATURE, _requires_message(missing, has_date, header))
    akid, date, region, service = _split_credential(params["Credential"])
    return akid, date, region, service, params["SignedHeaders"], params["Signature"]


# --- presigned URLs -----------------------------------------------------------------------------

_PRESIGN_REQUIRED = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
)


def _is_presigned(raw_query: str) -> bool:
    return "X-Amz-" in raw_query and (
        "X-Amz-Signature=" in raw_query
        or "X-Amz-Credential=" in raw_query
        or "X-Amz-Algorithm=" in raw_query
    )


def _presign_params(raw_query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for piece in raw_query.split("&"):
        if piece.startswith("X-Amz-"):
            key, _, value = piece.partition("=")
            params[key] = unquote(value)
    missing = [name for name in _PRESIGN_REQUIRED if name not in params]
    if missing:
        raise AuthError(
            INCOMPLETE_SIGNATURE,
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
            "and X-Amz-Expires parameters.",
        )
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise AuthError(INCOMPLETE_SIGNATURE, 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    return params


def _presign_expiry(params: Mapping[str, str]) -> int | None:
    raw = params.get("X-Amz-Expires")
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise AuthError(INCOMPLETE_SIGNATURE, "X-Amz-Expires should be a number")
    expires = int(raw)
    if expires > _MAX_PRESIGN_EXPIRES:
        raise AuthError(
            INCOMPLETE_SIGNATURE,
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        )
    return expires


# --- payload ------------------------------------------------------------------------------------


def _payload_hashes(
    headers: Mapping[str, str], body: bytes, presigned: bool, raw_path_service: bool
) -> tuple[str, ...]:
    """The payload hash(es) the signer may have used, most likely first."""
    declared = headers.get("x-amz-content-sha256")
    if declared is not None:
        if declared in _UNSIGNED_PAYLOADS:
            return (declared,)
        if _HEX64_RE.fullmatch(declared):
            actual = hashlib.sha256(body).hexdigest() if body else _EMPTY_SHA256
            if declared.lower() != actual:
                raise AuthError(
                    "XAmzContentSHA256Mismatch",
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                    400,
                )
            return (declared,)
        raise AuthError(
            INCOMPLETE_SIGNATURE,
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER "
            "or a valid sha256 value.",
            400,
        )
    if presigned and raw_path_service:
        return (UNSIGNED_PAYLOAD,)
    digest = hashlib.sha256(body).hexdigest() if body else _EMPTY_SHA256
    if presigned:
        # botocore's SigV4QueryAuth hashes the (usually empty) body; other presigners send
        # UNSIGNED-PAYLOAD. A presigned URL does not bind the body either way.
        return (digest, UNSIGNED_PAYLOAD)
    return (digest,)


# --- verify -------------------------------------------------------------------------------------


def verify(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    lookup: Callable[[str], Credentials | None],
    now: datetime,
    *,
    service: str | None = None,
    regions: Container[str] | None = None,
) -> tuple[Credentials, SignedScope]:
    """Verify a SigV4-signed request and return the caller's credentials and signed scope.

    Args:
        method: the HTTP method.
        raw_path: the path exactly as received, still percent-encoded.
        raw_query: the query string as received, without the ``?``.
        headers: request headers, names lower-cased.
        body: the request body.
        lookup: returns the credentials for an access key id, or None if unknown.
        now: the current time (timezone-aware; naive values are taken as UTC).
        service: if given, the service the request must be scoped to.
        regions: if given, the regions the request may be scoped to.

    Raises:
        AuthError: with AWS's code, message and status when the request is not authentic.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    auth = headers.get("authorization")
    presigned = auth is None and _is_presigned(raw_query)
    token: str | None
    if auth is not None:
        has_date = "x-amz-date" in headers or "date" in headers
        akid, scope_date, region, scope_service, signed, signature = _parse_authorization(
            auth, has_date
        )
        amz_date, when = _header_time(headers)
        expired_after = _MAX_SKEW
        token = headers.get("x-amz-security-token")
    elif presigned:
        params = _presign_params(raw_query)
        akid, scope_date, region, scope_service = _split_credential(params["X-Amz-Credential"])
        signed = params["X-Amz-SignedHeaders"]
        signature = params["X-Amz-Signature"]
        amz_date = params["X-Amz-Date"]
        parsed_when = _parse_basic_timestamp(amz_date)
        if parsed_when is None:
            raise _bad_date(amz_date)
        when = parsed_when
        expires = _presign_expiry(params)
        expired_after = _MAX_SKEW
        if expires is not None:
            lifetime = timedelta(seconds=expires)
            if scope_service in _RAW_PATH_SERVICES:
                # S3 honours X-Amz-Expires exactly and says so in its own words.
                if now > when + lifetime:
                    raise AuthError("AccessDenied", "Request has expired")
                expired_after = lifetime + _MAX_SKEW  # already enforced above
            else:
                # AWS keeps other services' presigned URLs to the 15-minute skew window;
                # lambdahost also honours a longer X-Amz-Expires (botocore's default is 3600).
                expired_after = max(lifetime, _MAX_SKEW)
        token = params.get("X-Amz-Security-Token")
    else:
        raise AuthError(MISSING_TOKEN, MSG_MISSING_TOKEN)

    if scope_date != amz_date[:8]:
        raise AuthError(
            INVALID_SIGNATURE,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{scope_date}' != '{amz_date[:8]}', from '{amz_date}'.",
        )
    _check_time(amz_date, when, now, expired_after)
    if service is not None and scope_service != service:
        raise AuthError(
            INVALID_SIGNATURE, f"Credential should be scoped to correct service: '{service}'. "
        )
    if regions is not None and region not in regions:
        raise AuthError(
            INVALID_SIGNATURE, f"Credential should be scoped to a valid region, not '{region}'. "
        )

    creds = lookup(akid)
    if creds is None:
        raise AuthError(UNRECOGNIZED_CLIENT, MSG_INVALID_TOKEN)
    if creds.session_token is not None and (
        token is None or not hmac.compare_digest(token.encode(), creds.session_token.encode())
    ):
        raise AuthError(UNRECOGNIZED_CLIENT, MSG_INVALID_TOKEN)

    raw_path_service = scope_service in _RAW_PATH_SERVICES
    canonical_uri = _canonical_uri(raw_path, raw_path_service)
    if presigned:
        canonical_query = _build_canonical_query(raw_query, "X-Amz-Signature")
    else:
        canonical_query = _canonical_query(raw_query)
    header_lines: list[str] = []
    for name in signed.split(";"):
        value = headers.get(name.lower())
        if value is None:
            raise _mismatch()
        header_lines.append(f"{name}:{' '.join(value.split())}\n")
    head = (
        f"{method.upper()}\n{canonical_uri}\n{canonical_query}\n{''.join(header_lines)}\n{signed}\n"
    )
    key = _signing_key(creds.secret_access_key, scope_date, region, scope_service)
    prefix = f"{ALGORITHM}\n{amz_date}\n{scope_date}/{region}/{scope_service}/aws4_request\n"
    provided = signature.encode("utf-8", "replace")
    for payload_hash in _payload_hashes(headers, body, presigned, raw_path_service):
        digest = hashlib.sha256((head + payload_hash).encode()).hexdigest()
        expected = hmac.digest(key, (prefix + digest).encode(), "sha256").hex()
        if hmac.compare_digest(expected.encode(), provided):
            return creds, SignedScope(akid, scope_date, region, scope_service)
    raise _mismatch()
