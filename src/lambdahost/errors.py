"""The error tree: one root, API errors that know their wire form, internal errors.

``ApiError`` carries everything the single error-mapping boundary in
``lambdahost.api.wire`` needs to render an AWS error exactly as botocore parses
it: the error code (the botocore shape name), the HTTP status, the message and
the casing of the message key, which differs per shape in the Lambda model.
Constructors below use AWS's own wording.
"""

from __future__ import annotations

from typing import Any


class PlatformError(Exception):
    """Root of every error lambdahost raises on purpose."""


class ApiError(PlatformError):
    """An error that is sent to the client as an AWS service error."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        *,
        message_key: str = "message",
        fields: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.message_key = message_key
        self.fields = fields or {}
        self.headers = headers or {}

    @property
    def sender_fault(self) -> bool:
        return self.status < 500


class InvalidTransition(PlatformError):
    """An illegal move of a state machine."""

    def __init__(self, entity: str, current: object, target: object) -> None:
        super().__init__(f"{entity}: illegal transition {current} -> {target}")
        self.entity = entity
        self.current = current
        self.target = target


class StoreConflict(PlatformError):
    """A uniqueness or compare-and-set conflict in the store."""


# --- Lambda error constructors (codes are botocore shape names) -------------


def invalid_parameter(message: str) -> ApiError:
    return ApiError("InvalidParameterValueException", message, 400)


def validation_error(message: str) -> ApiError:
    return ApiError("ValidationException", message, 400)


def resource_not_found(message: str) -> ApiError:
    return ApiError("ResourceNotFoundException", message, 404, message_key="Message")


def function_not_found(function_arn: str) -> ApiError:
    return resource_not_found(f"Function not found: {function_arn}")


def resource_conflict(message: str) -> ApiError:
    return ApiError("ResourceConflictException", message, 409)


def precondition_failed(message: str | None = None) -> ApiError:
    return ApiError(
        "PreconditionFailedException",
        message
        or "The Revision Id provided does not match the latest Revision Id. "
        "Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
        412,
    )


def request_too_large(limit: int) -> ApiError:
    return ApiError(
        "RequestTooLargeException",
        f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
        413,
    )


def invalid_request_content(message: str) -> ApiError:
    return ApiError("InvalidRequestContentException", message, 400)


def too_many_requests(reason: str, message: str = "Rate Exceeded.") -> ApiError:
    return ApiError(
        "TooManyRequestsException",
        message,
        429,
        fields={"Reason": reason},
        headers={"Retry-After": "1"},
    )


def service_error(message: str) -> ApiError:
    return ApiError("ServiceException", message, 500, message_key="Message")


def unknown_operation(method: str, path: str) -> ApiError:
    return ApiError("UnknownOperationException", f"No operation matches {method} {path}", 404)
