"""Identities of durable executions: ARNs, names, callback ids and checkpoint tokens.

Pure. A checkpoint token names one checkpoint of one invocation of one
execution: ``base64(boot, arn tag, invocation, sequence)``. ``boot`` is drawn
once per engine start, so tokens handed out before a restart can never match
again; the arn tag makes a token of another execution fail the same way as a
stale one (``Invalid checkpoint token...``, the one 4xx the SDK retries).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

from lambdahost.core.arns import constraint_error
from lambdahost.errors import ApiError

ARN_PATTERN = (
    r"arn:([a-zA-Z0-9-]+):lambda:([a-zA-Z0-9-]+):(\d{12}):function:([a-zA-Z0-9_-]+):"
    r"(\$LATEST(?:\.PUBLISHED)?|[0-9]+)/durable-execution/([a-zA-Z0-9_-]+)/([a-zA-Z0-9_-]+)"
)
_ARN_RE = re.compile(ARN_PATTERN)
NAME_PATTERN = "[a-zA-Z0-9-_]+"
_NAME_RE = re.compile(r"[a-zA-Z0-9_-]+")
_CALLBACK_RE = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_TOKEN = struct.Struct(">I6sQQ")
INVALID_TOKEN = "Invalid checkpoint token"


@dataclass(frozen=True)
class ExecutionArn:
    partition: str
    region: str
    account: str
    function_name: str
    version: str
    name: str
    exec_id: str

    def __str__(self) -> str:
        return (
            f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:"
            f"{self.function_name}:{self.version}/durable-execution/{self.name}/{self.exec_id}"
        )


def parse_arn(value: str, member: str = "durableExecutionArn") -> ExecutionArn:
    if not value or len(value) > 1024:
        raise constraint_error(value, member, "Member must have length less than or equal to 1024")
    match = _ARN_RE.fullmatch(value)
    if match is None:
        raise constraint_error(
            value, member, f"Member must satisfy regular expression pattern: {ARN_PATTERN}"
        )
    return ExecutionArn(*match.groups())


def validate_name(value: str, member: str = "durableExecutionName") -> str:
    if not 1 <= len(value) <= 64:
        raise constraint_error(
            value,
            member,
            "Member must have length less than or equal to 64"
            if value
            else "Member must have length greater than or equal to 1",
        )
    if not _NAME_RE.fullmatch(value):
        raise constraint_error(
            value, member, f"Member must satisfy regular expression pattern: {NAME_PATTERN}"
        )
    return value


def validate_callback_id(value: str) -> str:
    if not value or len(value) > 1024 or not _CALLBACK_RE.fullmatch(value):
        raise constraint_error(
            value,
            "callbackId",
            "Member must satisfy regular expression pattern: [A-Za-z0-9+/]+={0,2}",
        )
    return value


@functools.lru_cache(maxsize=65_536)
def arn_tag(arn: str) -> bytes:
    return hashlib.blake2b(arn.encode(), digest_size=6).digest()


def encode_token(boot: int, arn: str, invocation: int, seq: int) -> str:
    return base64.b64encode(_TOKEN.pack(boot, arn_tag(arn), invocation, seq)).decode()


@dataclass(frozen=True)
class TokenClaims:
    boot: int
    tag: bytes
    invocation: int
    seq: int


def decode_token(token: str) -> TokenClaims | None:
    try:
        raw = base64.b64decode(token.encode(), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None
    if len(raw) != _TOKEN.size:
        return None
    boot, tag, invocation, seq = _TOKEN.unpack(raw)
    return TokenClaims(boot, tag, invocation, seq)


def invalid_token(detail: str) -> ApiError:
    """The error the SDK classifies as retryable: the invocation ends, the service re-invokes."""
    return ApiError("InvalidParameterValueException", f"{INVALID_TOKEN}: {detail}", 400)


IdFactory = Callable[[], str]
