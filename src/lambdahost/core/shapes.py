"""Wire shapes built from stored documents: FunctionConfiguration, AliasConfiguration.

Pure: documents and an ``ArnFactory`` in, JSON-ready dicts out.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from lambdahost.core.arns import LATEST, ArnFactory
from lambdahost.core.config import log_group


def function_configuration(
    arns: ArnFactory,
    name: str,
    version: str,
    config: Mapping[str, Any],
    revision_id: str,
    arn_qualifier: str | None = None,
) -> dict[str, Any]:
    """FunctionConfiguration as Lambda returns it.

    ``arn_qualifier`` is the qualifier shown in ``FunctionArn``: published
    versions always show their number; ``$LATEST`` shows none unless asked.
    """
    if arn_qualifier is None and version != LATEST:
        arn_qualifier = version
    shape: dict[str, Any] = {
        "FunctionName": name,
        "FunctionArn": arns.function(name, arn_qualifier),
        "Version": version,
        "RevisionId": revision_id,
    }
    for key, value in config.items():
        if key == "Environment":
            variables = (value or {}).get("Variables") or {}
            if variables:
                shape["Environment"] = {"Variables": dict(variables)}
            continue
        if key == "DeadLetterConfig" and not value:
            continue
        if key == "LoggingConfig":
            shape[key] = {**dict(value), "LogGroup": log_group(name, config)}
            continue
        shape[key] = value
    shape.setdefault(
        "RuntimeVersionConfig",
        {
            "RuntimeVersionArn": f"arn:{arns.partition}:lambda:{arns.region}::runtime:"
            + runtime_version_hash(str(config.get("Runtime", "")))
        },
    )
    return shape


def runtime_version_hash(runtime: str) -> str:
    import hashlib

    return hashlib.sha256(f"lambdahost:{runtime}".encode()).hexdigest()


def alias_configuration(
    arns: ArnFactory, name: str, alias: str, config: Mapping[str, Any], revision_id: str
) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "AliasArn": arns.alias(name, alias),
        "Name": alias,
        "FunctionVersion": config["FunctionVersion"],
        "Description": config.get("Description", ""),
        "RevisionId": revision_id,
    }
    if config.get("RoutingConfig"):
        shape["RoutingConfig"] = config["RoutingConfig"]
    return shape


def encode_marker(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def decode_marker(marker: str | None) -> Any:
    if not marker:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(marker.encode()))
    except (ValueError, TypeError):
        from lambdahost.errors import invalid_parameter

        raise invalid_parameter(f"Invalid marker: {marker}") from None
