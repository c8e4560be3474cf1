"""SQS errors with AWS's wording, and how they are put on the wire (awsJson1_0, query-compatible).

SQS moved from the query protocol to JSON keeping its old error codes, so an
error carries two names: the model's shape name (``QueueDoesNotExist``) in the
body's ``__type`` (``com.amazonaws.sqs#QueueDoesNotExist``) and the legacy query
code (``AWS.SimpleQueueService.NonExistentQueue``) in the ``x-amzn-query-error``
header as ``<code>;Sender``. botocore then reports ``Error.Code`` as the query code
and raises the modelled exception named by the shape (``sqs.exceptions.QueueDoesNotExist``).
Errors SQS does not model (``InvalidParameterValue``, ``MissingParameter``) use the
same name in both places and surface as a plain ``ClientError``.

Batch operations report per-entry failures with the query code (``BatchError``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from lambdahost.api.http import Response
from lambdahost.errors import ApiError

JSON_1_0 = b"application/x-amz-json-1.0"
QUERY_ERROR_HEADER = "x-amzn-query-error"
MAX_BATCH_BYTES = 1_048_576


def sqs_error(
    shape: str, message: str, query_code: str | None = None, status: int = 400
) -> ApiError:
    """An SQS error: ``shape`` is the botocore shape name, ``query_code`` the legacy code."""
    kind = "Sender" if status < 500 else "Receiver"
    return ApiError(
        shape, message, status, headers={QUERY_ERROR_HEADER: f"{query_code or shape};{kind}"}
    )


def legacy_error(shape: str, message: str) -> ApiError:
    """An SQS error whose legacy query code is ``AWS.SimpleQueueService.<shape>``."""
    return sqs_error(shape, message, f"AWS.SimpleQueueService.{shape}")


def query_code(error: ApiError) -> str:
    """The legacy query code of an error (what batch results and ``Error.Code`` show)."""
    header = error.headers.get(QUERY_ERROR_HEADER)
    return header.split(";", 1)[0] if header else error.code


def render(error: ApiError, request_id: str) -> Response:
    """The awsJson1_0 error response for ``error``."""
    body = {"__type": f"com.amazonaws.sqs#{error.code}", "message": error.message}
    kind = "Sender" if error.status < 500 else "Receiver"
    headers = [
        (b"content-type", JSON_1_0),
        (b"x-amzn-query-error", f"{query_code(error)};{kind}".encode()),
    ]
    return Response(error.status, json.dumps(body).encode(), headers)


@dataclass(frozen=True)
class BatchError:
    """One failed entry of a batch request (``BatchResultErrorEntry``)."""

    id: str
    code: str
    message: str
    sender_fault: bool = True

    @classmethod
    def of(cls, entry_id: str, error: ApiError) -> BatchError:
        return cls(entry_id, query_code(error), error.message, error.status < 500)

    def wire(self) -> dict[str, object]:
        return {
            "Id": self.id,
            "SenderFault": self.sender_fault,
            "Code": self.code,
            "Message": self.message,
        }


# --- constructors (AWS wording) ---------------------------------------------


def queue_does_not_exist() -> ApiError:
    return sqs_error(
        "QueueDoesNotExist",
        "The specified queue does not exist.",
        "AWS.SimpleQueueService.NonExistentQueue",
    )


def queue_name_exists(attribute: str) -> ApiError:
    return sqs_error(
        "QueueNameExists",
        f"A queue already exists with the same name and a different value for attribute {attribute}",
        "QueueAlreadyExists",
    )


def invalid_attribute_name(name: str) -> ApiError:
    return sqs_error("InvalidAttributeName", f"Unknown Attribute {name}.")


def invalid_attribute_value(name: str) -> ApiError:
    return sqs_error("InvalidAttributeValue", f"Invalid value for the parameter {name}.")


def invalid_parameter(message: str) -> ApiError:
    return sqs_error("InvalidParameterValue", message)


def invalid_value(parameter: str, value: object, reason: str) -> ApiError:
    return invalid_parameter(
        f"Value {value} for parameter {parameter} is invalid. Reason: {reason}"
    )


def not_for_queue_type(parameter: str, value: object) -> ApiError:
    return invalid_value(
        parameter, value, "The request include parameter that is not valid for this queue type."
    )


def missing_parameter(name: str) -> ApiError:
    return sqs_error("MissingParameter", f"The request must contain the parameter {name}.")


def receipt_handle_invalid(handle: str) -> ApiError:
    return sqs_error(
        "ReceiptHandleIsInvalid",
        f'The input receipt handle "{handle}" is not a valid receipt handle.',
    )


def message_not_in_flight(handle: str) -> ApiError:
    return invalid_value(
        "ReceiptHandle",
        handle,
        "Message does not exist or is not available for visibility timeout change.",
    )


def message_too_long(limit: int) -> ApiError:
    return invalid_parameter(
        f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes."
    )


def invalid_message_contents(char: str) -> ApiError:
    return sqs_error(
        "InvalidMessageContents",
        f"Invalid binary character '#x{ord(char):X}' was found in the message body, the set of "
        "allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | "
        "#x10000 to #x10FFFF",
    )


def empty_batch(entry_shape: str) -> ApiError:
    return legacy_error(
        "EmptyBatchRequest",
        f"There should be at least one {entry_shape} in the request.",
    )


def too_many_entries(count: int) -> ApiError:
    return legacy_error(
        "TooManyEntriesInBatchRequest",
        f"Maximum number of entries per request are 10. You have sent {count}.",
    )


def ids_not_distinct(entry_id: str) -> ApiError:
    return legacy_error(
        "BatchEntryIdsNotDistinct",
        f"Id {entry_id} repeated.",
    )


def invalid_batch_entry_id() -> ApiError:
    return legacy_error(
        "InvalidBatchEntryId",
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
        "It can be at most 80 letters long.",
    )


def batch_too_long(size: int) -> ApiError:
    return legacy_error(
        "BatchRequestTooLong",
        f"Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. You have sent {size} bytes.",
    )


def purge_in_progress(name: str) -> ApiError:
    return legacy_error(
        "PurgeQueueInProgress",
        f"Only one PurgeQueue operation on {name} is allowed every 60 seconds.",
    )


def unsupported_operation(operation: str) -> ApiError:
    return legacy_error(
        "UnsupportedOperation",
        f"lambdahost does not implement the SQS operation {operation}.",
    )


def invalid_action(operation: str) -> ApiError:
    return sqs_error("InvalidAction", f"The action {operation} is not valid for this endpoint.")


def malformed_body() -> ApiError:
    return sqs_error("SerializationException", "The request body could not be parsed as JSON.")
