"""Helpers shared by the route modules: FunctionName parsing and qualifiers."""

from __future__ import annotations

from lambdahost.api.http import Request
from lambdahost.core.arns import FunctionRef, combine_qualifier, parse_function_name


def function_ref(request: Request) -> FunctionRef:
    return parse_function_name(request.path_params["FunctionName"])


def name_and_qualifier(request: Request) -> tuple[str, str | None]:
    ref = function_ref(request)
    return ref.name, combine_qualifier(ref, request.q("Qualifier"))


def unqualified_name(request: Request) -> str:
    """Operations on the function itself take no qualifier in the name."""
    from lambdahost.errors import invalid_parameter

    ref = function_ref(request)
    if ref.qualifier is not None:
        raise invalid_parameter(
            "Unsupported function name: qualified function names are not allowed for this operation"
        )
    return ref.name
