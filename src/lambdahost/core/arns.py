"""Lambda ARNs and the four accepted forms of a ``FunctionName``.

A FunctionName may be a bare name, ``name:qualifier``, a partial ARN
(``123456789012:function:name``) or a full ARN, each optionally qualified.
This module parses and formats them, and raises AWS's ``ValidationException``
wording when a value breaks the model's pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lambdahost.errors import ApiError, invalid_parameter

FUNCTION_NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?"
    r"(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)
_FUNCTION_NAME_RE = re.compile(FUNCTION_NAME_PATTERN)
_BARE_NAME_RE = re.compile(r"[a-zA-Z0-9-_]+")
VERSION_PATTERN = r"(\$LATEST|[0-9]+)"
_VERSION_RE = re.compile(VERSION_PATTERN)
ALIAS_PATTERN = r"(?!^[0-9]+$)([a-zA-Z0-9-_]+)"
_ALIAS_RE = re.compile(ALIAS_PATTERN)
QUALIFIER_PATTERN = r"(|[a-zA-Z0-9$_-]+)"
_QUALIFIER_RE = re.compile(QUALIFIER_PATTERN)

LATEST = "$LATEST"


def constraint_error(value: object, member: str, constraint: str) -> ApiError:
    """AWS's wording for a value that breaks a modelled constraint."""
    return ApiError(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: {constraint}",
        400,
    )


def check_range(value: float, member: str, low: float, high: float) -> None:
    """Raise AWS's constraint error when ``value`` lies outside ``[low, high]``."""
    if value < low:
        raise constraint_error(
            value, member, f"Member must have value greater than or equal to {low}"
        )
    if value > high:
        raise constraint_error(
            value, member, f"Member must have value less than or equal to {high}"
        )


def require_int_in_range(value: Any, member: str, low: int, high: int) -> int:
    """An integer (not a bool) within ``[low, high]``, or AWS's constraint error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise constraint_error(value, member, "Member must be an integer")
    check_range(value, member, low, high)
    return value


@dataclass(frozen=True)
class FunctionRef:
    """A parsed FunctionName: the bare name and the qualifier it carried, if any."""

    name: str
    qualifier: str | None


@dataclass(frozen=True)
class ArnFactory:
    """Formats ARNs for one partition, region and account."""

    region: str
    account_id: str
    partition: str = "aws"

    def function(self, name: str, qualifier: str | None = None) -> str:
        base = f"arn:{self.partition}:lambda:{self.region}:{self.account_id}:function:{name}"
        return f"{base}:{qualifier}" if qualifier else base

    def alias(self, name: str, alias: str) -> str:
        return self.function(name, alias)

    def role(self, name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:role/{name}"

    def root(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:root"


def parse_function_name(value: str, member: str = "functionName") -> FunctionRef:
    """Parse any accepted FunctionName form; raise ValidationException if malformed."""
    if not value or len(value) > 170:
        raise constraint_error(
            value,
            member,
            "Member must have length less than or equal to 170"
            if value
            else "Member must have length greater than or equal to 1",
        )
    match = _FUNCTION_NAME_RE.fullmatch(value)
    if match is None:
        raise constraint_error(
            value,
            member,
            f"Member must satisfy regular expression pattern: {FUNCTION_NAME_PATTERN}",
        )
    name = match.group(7)
    qualifier = match.group(9)
    if len(name) > 64:
        raise constraint_error(value, member, "Member must have length less than or equal to 64")
    if not value.startswith("arn:") and match.group(5) is None and match.group(6):
        # "function:name" without an account is not a valid partial ARN.
        raise constraint_error(
            value,
            member,
            f"Member must satisfy regular expression pattern: {FUNCTION_NAME_PATTERN}",
        )
    return FunctionRef(name=name, qualifier=qualifier)


def validate_bare_name(value: str, member: str = "functionName") -> str:
    """A name that must not carry an ARN or a qualifier (CreateFunction)."""
    ref = parse_function_name(value, member)
    if ref.qualifier is not None:
        raise invalid_parameter(
            "Unsupported function name: qualified function names are not allowed for this operation"
        )
    return ref.name


def combine_qualifier(ref: FunctionRef, query_qualifier: str | None) -> str | None:
    """Merge a qualifier in the name with one in ``?Qualifier=``; they must agree."""
    if query_qualifier is not None:
        validate_qualifier(query_qualifier)
    if ref.qualifier and query_qualifier and ref.qualifier != query_qualifier:
        raise invalid_parameter(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    return ref.qualifier or query_qualifier or None


def validate_qualifier(value: str, member: str = "qualifier") -> str:
    if len(value) > 128:
        raise constraint_error(value, member, "Member must have length less than or equal to 128")
    if not _QUALIFIER_RE.fullmatch(value):
        raise constraint_error(
            value, member, f"Member must satisfy regular expression pattern: {QUALIFIER_PATTERN}"
        )
    return value


def is_version(qualifier: str) -> bool:
    return _VERSION_RE.fullmatch(qualifier) is not None


def validate_alias_name(value: str, member: str = "name") -> str:
    if not value or len(value) > 128:
        raise constraint_error(value, member, "Member must have length less than or equal to 128")
    if not _ALIAS_RE.fullmatch(value):
        raise constraint_error(
            value, member, f"Member must satisfy regular expression pattern: {ALIAS_PATTERN}"
        )
    return value


def validate_version(value: str, member: str = "functionVersion") -> str:
    if not value or len(value) > 1024 or not _VERSION_RE.fullmatch(value):
        raise constraint_error(
            value, member, f"Member must satisfy regular expression pattern: {VERSION_PATTERN}"
        )
    return value


def parse_resource_function_arn(value: str) -> FunctionRef:
    """Resource ARNs for tagging: a full, unqualified function ARN."""
    match = re.fullmatch(
        r"arn:(aws[a-zA-Z-]*):lambda:([a-z]{2}(-gov)?-[a-z]+-\d{1}):(\d{12}):function:"
        r"([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?",
        value,
    )
    if match is None:
        raise constraint_error(
            value,
            "resource",
            "Member must satisfy regular expression pattern: "
            r"arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:"
            r"function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?",
        )
    return FunctionRef(name=match.group(5), qualifier=match.group(7))
