"""Lambda event filtering (pure): EventBridge-style patterns, validated and matched.

A pattern is a JSON object. A key maps to a nested pattern (an object) or to a
list of matchers, any of which may match. Matchers: a literal (string, number,
boolean, null); ``{"prefix": s}``, ``{"suffix": s}`` (either may wrap
``{"equals-ignore-case": s}``); ``{"equals-ignore-case": s}``;
``{"anything-but": literal | [literals] | {"prefix"|"suffix"|"equals-ignore-case": ...}}``;
``{"numeric": [op, n, (op, n)]}``; ``{"exists": bool}``. ``"$or": [pattern, ...]``
matches if any alternative matches. All keys of a pattern must match (AND).
An event value that is a list matches if any element matches. For SQS, the
record's ``body`` is matched as parsed JSON when it holds a JSON object or array.
"""

from __future__ import annotations

import json
from typing import Any

OPERATORS = ("=", "<", "<=", ">", ">=")
MATCHER_KEYS = frozenset(
    {"prefix", "suffix", "anything-but", "numeric", "exists", "equals-ignore-case"}
)
_MISSING = object()


class InvalidPattern(ValueError):
    """A filter pattern that is not valid JSON or not a valid pattern."""


def _literal(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_string_or_ignore_case(value: Any) -> None:
    if isinstance(value, str):
        return
    if isinstance(value, dict) and set(value) == {"equals-ignore-case"}:
        if isinstance(value["equals-ignore-case"], str):
            return
    raise InvalidPattern("prefix and suffix take a string")


def _check_matcher(matcher: Any) -> None:
    if _literal(matcher):
        return
    if not isinstance(matcher, dict) or len(matcher) != 1:
        raise InvalidPattern("a matcher must be a literal or an object with one key")
    ((kind, arg),) = matcher.items()
    if kind not in MATCHER_KEYS:
        raise InvalidPattern(f"unknown matcher {kind}")
    if kind in ("prefix", "suffix"):
        _check_string_or_ignore_case(arg)
    elif kind == "equals-ignore-case":
        if not isinstance(arg, str):
            raise InvalidPattern("equals-ignore-case takes a string")
    elif kind == "exists":
        if not isinstance(arg, bool):
            raise InvalidPattern("exists takes a boolean")
    elif kind == "numeric":
        _check_numeric(arg)
    else:  # anything-but
        if isinstance(arg, list):
            if not arg or not all(isinstance(v, str) or _number(v) for v in arg):
                raise InvalidPattern("anything-but takes strings or numbers")
        elif isinstance(arg, dict):
            if len(arg) != 1 or next(iter(arg)) not in ("prefix", "suffix", "equals-ignore-case"):
                raise InvalidPattern("anything-but takes prefix, suffix or equals-ignore-case")
            inner = next(iter(arg.values()))
            if not isinstance(inner, str) and not (
                isinstance(inner, list) and inner and all(isinstance(v, str) for v in inner)
            ):
                raise InvalidPattern("anything-but operators take strings")
        elif not (isinstance(arg, str) or _number(arg)):
            raise InvalidPattern("anything-but takes strings or numbers")


def _check_numeric(arg: Any) -> None:
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        raise InvalidPattern("numeric takes one or two (operator, number) pairs")
    for index in range(0, len(arg), 2):
        if arg[index] not in OPERATORS or not _number(arg[index + 1]):
            raise InvalidPattern("numeric takes (operator, number) pairs")
    if len(arg) == 4 and "=" in (arg[0], arg[2]):
        raise InvalidPattern("numeric = cannot be combined")


def _check_object(pattern: Any) -> None:
    if not isinstance(pattern, dict):
        raise InvalidPattern("a pattern must be a JSON object")
    for key, value in pattern.items():
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                raise InvalidPattern("$or takes a list of at least two patterns")
            for alternative in value:
                _check_object(alternative)
        elif isinstance(value, dict):
            _check_object(value)
        elif isinstance(value, list):
            if not value:
                raise InvalidPattern(f"the matchers of {key} must not be empty")
            for matcher in value:
                _check_matcher(matcher)
        else:
            raise InvalidPattern(f"the value of {key} must be an object or a list")


def parse_pattern(text: str) -> dict[str, Any]:
    """Parse and validate a filter pattern; raise ``InvalidPattern``."""
    try:
        pattern = json.loads(text)
    except (ValueError, TypeError):
        raise InvalidPattern("not valid JSON") from None
    _check_object(pattern)
    assert isinstance(pattern, dict)
    return pattern


# --- matching ------------------------------------------------------------------


def _string_op(arg: Any, value: str, test: str) -> bool:
    if isinstance(arg, dict):
        needle = str(arg["equals-ignore-case"]).lower()
        value = value.lower()
    else:
        needle = arg
    return value.startswith(needle) if test == "prefix" else value.endswith(needle)


def _numeric(arg: list[Any], value: float) -> bool:
    for index in range(0, len(arg), 2):
        op, bound = arg[index], arg[index + 1]
        ok = {
            "=": value == bound,
            "<": value < bound,
            "<=": value <= bound,
            ">": value > bound,
            ">=": value >= bound,
        }[op]
        if not ok:
            return False
    return True


def _equal(literal: Any, value: Any) -> bool:
    if literal is None or value is None:
        return literal is None and value is None
    if isinstance(literal, bool) or isinstance(value, bool):
        return isinstance(literal, bool) and isinstance(value, bool) and literal == value
    if _number(literal):
        return _number(value) and float(literal) == float(value)
    return isinstance(value, str) and literal == value


def _anything_but(arg: Any, value: Any) -> bool:
    if isinstance(arg, dict):
        ((kind, inner),) = arg.items()
        if not isinstance(value, str):
            return True
        options = inner if isinstance(inner, list) else [inner]
        if kind == "equals-ignore-case":
            return all(value.lower() != o.lower() for o in options)
        return not any(_string_op(o, value, kind) for o in options)
    options = arg if isinstance(arg, list) else [arg]
    return not any(_equal(o, value) for o in options)


def _matches_value(matcher: Any, value: Any) -> bool:
    """One matcher against one present, scalar event value."""
    if not isinstance(matcher, dict):
        return _equal(matcher, value)
    ((kind, arg),) = matcher.items()
    if kind == "exists":
        return bool(arg)
    if kind in ("prefix", "suffix"):
        return isinstance(value, str) and _string_op(arg, value, kind)
    if kind == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(arg).lower()
    if kind == "numeric":
        return _number(value) and _numeric(arg, float(value))
    return _anything_but(arg, value)


def _matches_leaf(matchers: list[Any], value: Any) -> bool:
    if value is _MISSING:
        return any(isinstance(m, dict) and m.get("exists") is False for m in matchers)
    values = value if isinstance(value, list) else [value]
    for matcher in matchers:
        if isinstance(matcher, dict) and "exists" in matcher:
            if matcher["exists"]:
                return True
            continue
        if any(not isinstance(v, dict | list) and _matches_value(matcher, v) for v in values):
            return True
    return False


def matches(pattern: dict[str, Any], event: Any) -> bool:
    """Does ``event`` (a JSON-like object) match ``pattern``?"""
    for key, sub in pattern.items():
        if key == "$or":
            if not any(matches(alternative, event) for alternative in sub):
                return False
            continue
        value = event.get(key, _MISSING) if isinstance(event, dict) else _MISSING
        if isinstance(sub, dict):
            if value is _MISSING:
                if not matches(sub, {}):
                    return False
            elif isinstance(value, list):
                if not any(isinstance(v, dict) and matches(sub, v) for v in value):
                    return False
            elif not isinstance(value, dict) or not matches(sub, value):
                return False
        elif not _matches_leaf(sub, value):
            return False
    return True


def matches_any(patterns: list[dict[str, Any]], event: Any) -> bool:
    """Filters are OR-ed: no filters, or any one matching, lets the event through."""
    return not patterns or any(matches(p, event) for p in patterns)


def sqs_filter_view(record: dict[str, Any]) -> dict[str, Any]:
    """The SQS record as filters see it: ``body`` parsed when it is a JSON object or array."""
    body = record.get("body")
    if isinstance(body, str):
        try:
            parsed = json.loads(body)
        except ValueError:
            return record
        if isinstance(parsed, dict | list):
            return {**record, "body": parsed}
    return record
