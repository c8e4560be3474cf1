"""The runtime identifiers Lambda's model knows, and those this lambdahost server runs (pure).

``validate_runtime`` turns a requested ``Runtime`` into AWS's answer: a constraint error for
a name the model does not know, AWS's wording for a deprecated runtime, and a clear refusal
for a modelled runtime that lambdahost does not run (Java, .NET, Ruby).
"""

from __future__ import annotations

from typing import Any

from lambdahost.core.arns import constraint_error
from lambdahost.errors import invalid_parameter

PYTHON_RUNTIMES = (
    "python3.8",
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
    "python3.15",
)
DEPRECATED_RUNTIMES = {
    "python2.7",
    "python3.6",
    "python3.7",
    "nodejs",
    "nodejs4.3",
    "nodejs4.3-edge",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet6",
    "go1.x",
    "ruby2.5",
    "ruby2.7",
    "java8",
    "provided",
}
# The Runtime enum of the Lambda model (botocore 1.44).
MODEL_RUNTIMES = (
    "nodejs",
    "nodejs4.3",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "nodejs18.x",
    "nodejs20.x",
    "nodejs22.x",
    "nodejs24.x",
    "java8",
    "java8.al2",
    "java11",
    "java17",
    "java21",
    "java25",
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet6",
    "dotnet8",
    "dotnet10",
    "nodejs4.3-edge",
    "go1.x",
    "ruby2.5",
    "ruby2.7",
    "ruby3.2",
    "ruby3.3",
    "ruby3.4",
    "ruby4.0",
    "provided",
    "provided.al2",
    "provided.al2023",
    "nodejs26.x",
    "python3.15",
    "java8.al2023",
    "java11.al2023",
    "java17.al2023",
    "custom",
)
# Runtime-API runtimes (lambdahost.runtimes): a bootstrap of the function's own, or Node.js.
OTHER_RUNTIMES = ("provided.al2", "provided.al2023", "nodejs18.x", "nodejs20.x", "nodejs22.x")
SUPPORTED_RUNTIMES = PYTHON_RUNTIMES + OTHER_RUNTIMES


def validate_runtime(runtime: Any) -> str:
    if not isinstance(runtime, str) or runtime not in MODEL_RUNTIMES:
        raise constraint_error(
            runtime,
            "runtime",
            "Member must satisfy enum value set: [" + ", ".join(MODEL_RUNTIMES) + "]",
        )
    if runtime in DEPRECATED_RUNTIMES:
        raise invalid_parameter(
            f"The runtime parameter of {runtime} is no longer supported for creating or "
            "updating AWS Lambda functions. We recommend you use a supported runtime while "
            "creating or updating functions."
        )
    if runtime not in SUPPORTED_RUNTIMES:
        raise invalid_parameter(
            f"The runtime parameter of {runtime} is not supported by this lambdahost server. "
            f"Supported runtimes: {', '.join(SUPPORTED_RUNTIMES)}."
        )
    return runtime
