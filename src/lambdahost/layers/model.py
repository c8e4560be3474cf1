"""Layers, pure: names and ARNs, request validation, wire shapes, permission statements.

A layer version's stored document uses the wire names of ``PublishLayerVersion``'s
response minus what is derived at read time (ARNs, ``Version``, ``Content.Location``).
Errors carry AWS's codes and wording. No I/O; the caller passes in the time and ids.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambdahost.core.arns import constraint_error
from lambdahost.core.runtime_names import MODEL_RUNTIMES
from lambdahost.errors import ApiError, invalid_parameter, resource_not_found

NAME_PATTERN = (
    r"(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+"
)
VERSION_ARN_PATTERN = r"arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+"
_NAME_RE = re.compile(NAME_PATTERN)
_VERSION_ARN_RE = re.compile(
    r"arn:([a-zA-Z0-9-]+):lambda:([a-zA-Z0-9-]+):(\d{12}):layer:([a-zA-Z0-9-_]+):([0-9]+)"
)
_STATEMENT_ID_RE = re.compile(r"[a-zA-Z0-9-_]+")
_PRINCIPAL_RE = re.compile(r"\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root")
_ORG_RE = re.compile(r"o-[a-z0-9]{10,32}")
ARCHITECTURES = ("x86_64", "arm64")
NOT_FOUND = "The resource you requested does not exist."


@dataclass(frozen=True)
class LayerRef:
    """A layer version named by its ARN."""

    region: str
    account: str
    name: str
    version: int


def layer_name(value: str) -> str:
    """The bare layer name of a ``LayerName`` (a name or a layer ARN)."""
    if not value or len(value) > 140 or not _NAME_RE.fullmatch(value):
        raise constraint_error(
            value, "layerName", f"Member must satisfy regular expression pattern: {NAME_PATTERN}"
        )
    return value.rsplit(":", 1)[-1] if value.startswith("arn:") else value


def parse_version_arn(arn: Any, member: str = "arn") -> LayerRef:
    if not isinstance(arn, str) or len(arn) > 140 or not _VERSION_ARN_RE.fullmatch(arn):
        raise constraint_error(
            arn, member, "Member must satisfy regular expression pattern: " + VERSION_ARN_PATTERN
        )
    m = _VERSION_ARN_RE.fullmatch(arn)
    assert m is not None
    return LayerRef(m.group(2), m.group(3), m.group(4), int(m.group(5)))


def version_number(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise invalid_parameter(f"Invalid VersionNumber: {value}") from None
    if number < 1:
        raise not_found()
    return number


def not_found(message: str = NOT_FOUND) -> ApiError:
    return resource_not_found(message)


def _str_list(
    body: Mapping[str, Any], key: str, member: str, allowed: tuple[str, ...], limit: int
) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > limit:
        raise constraint_error(
            value, member, f"Member must have length less than or equal to {limit}"
        )
    for item in value:
        if item not in allowed:
            raise constraint_error(
                value, member, "Member must satisfy enum value set: [" + ", ".join(allowed) + "]"
            )
    return [str(v) for v in value]


def publish_document(
    body: Mapping[str, Any], *, now: str, sha256: str, size: int
) -> dict[str, Any]:
    """The stored document of a new layer version (``Content`` checked by the caller)."""
    doc: dict[str, Any] = {
        "Description": "",
        "CreatedDate": now,
        "CodeSha256": sha256,
        "CodeSize": size,
    }
    description = body.get("Description")
    if description is not None:
        if not isinstance(description, str) or len(description) > 256:
            raise constraint_error(
                description, "description", "Member must have length less than or equal to 256"
            )
        doc["Description"] = description
    runtimes = _str_list(body, "CompatibleRuntimes", "compatibleRuntimes", MODEL_RUNTIMES, 15)
    if runtimes is not None:
        doc["CompatibleRuntimes"] = runtimes
    archs = _str_list(body, "CompatibleArchitectures", "compatibleArchitectures", ARCHITECTURES, 2)
    if archs is not None:
        doc["CompatibleArchitectures"] = archs
    license_info = body.get("LicenseInfo")
    if license_info is not None:
        if not isinstance(license_info, str) or len(license_info) > 512:
            raise constraint_error(
                license_info, "licenseInfo", "Member must have length less than or equal to 512"
            )
        doc["LicenseInfo"] = license_info
    return doc


def list_item(layer_arn: str, version: int, doc: Mapping[str, Any]) -> dict[str, Any]:
    """``LayerVersionsListItem``."""
    item: dict[str, Any] = {
        "LayerVersionArn": f"{layer_arn}:{version}",
        "Version": version,
        "Description": doc.get("Description", ""),
        "CreatedDate": doc["CreatedDate"],
    }
    for key in ("CompatibleRuntimes", "LicenseInfo", "CompatibleArchitectures"):
        if key in doc:
            item[key] = doc[key]
    return item


def version_shape(
    layer_arn: str, version: int, doc: Mapping[str, Any], location: str
) -> dict[str, Any]:
    """``GetLayerVersionResponse`` / ``PublishLayerVersionResponse``."""
    shape = list_item(layer_arn, version, doc)
    shape["LayerArn"] = layer_arn
    shape["Content"] = {
        "Location": location,
        "CodeSha256": doc["CodeSha256"],
        "CodeSize": doc["CodeSize"],
    }
    return shape


def matches(doc: Mapping[str, Any], runtime: str | None, architecture: str | None) -> bool:
    """``ListLayers``/``ListLayerVersions`` filters."""
    if runtime and runtime not in doc.get("CompatibleRuntimes", ()):
        return False
    return not (architecture and architecture not in doc.get("CompatibleArchitectures", ()))


# -- permissions ---------------------------------------------------------------------------------
def add_statement(
    policy: Mapping[str, Any] | None, body: Mapping[str, Any], layer_version_arn: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``AddLayerVersionPermission``: (new policy, the statement added)."""
    sid = body.get("StatementId")
    if not isinstance(sid, str) or not 1 <= len(sid) <= 100 or not _STATEMENT_ID_RE.fullmatch(sid):
        raise constraint_error(
            sid, "statementId", "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)"
        )
    action = body.get("Action")
    if action != "lambda:GetLayerVersion":
        raise constraint_error(
            action,
            "action",
            "Member must satisfy regular expression pattern: lambda:GetLayerVersion",
        )
    principal = body.get("Principal")
    if not isinstance(principal, str) or not _PRINCIPAL_RE.fullmatch(principal):
        raise constraint_error(
            principal,
            "principal",
            "Member must satisfy regular expression "
            "pattern: \\d{12}|\\*|arn:(aws[a-zA-Z-]*):iam::\\d{12}:root",
        )
    org = body.get("OrganizationId")
    if org is not None and (not isinstance(org, str) or not _ORG_RE.fullmatch(org)):
        raise constraint_error(
            org,
            "organizationId",
            "Member must satisfy regular expression pattern: o-[a-z0-9]{10,32}",
        )
    if org is not None and principal != "*":
        raise invalid_parameter("OrganizationId can only be used with Principal '*'.")
    current = dict(policy or {"Version": "2012-10-17", "Id": "default", "Statement": []})
    statements = list(current.get("Statement") or [])
    if any(s.get("Sid") == sid for s in statements):
        raise ApiError(
            "ResourceConflictException",
            f"The statement id ({sid}) provided already exists. Please provide a new "
            "statement id, or remove the existing statement.",
            409,
        )
    who: Any = "*"
    if principal != "*":
        who = {
            "AWS": principal if principal.startswith("arn:") else f"arn:aws:iam::{principal}:root"
        }
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": who,
        "Action": action,
        "Resource": layer_version_arn,
    }
    if org is not None:
        statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": org}}
    statements.append(statement)
    current["Statement"] = statements
    return current, statement


def remove_statement(policy: Mapping[str, Any] | None, sid: str) -> dict[str, Any] | None:
    """The policy without ``sid`` (None when it became empty); raises if absent."""
    statements = list((policy or {}).get("Statement") or [])
    kept = [s for s in statements if s.get("Sid") != sid]
    if len(kept) == len(statements):
        raise not_found(f"Statement {sid} is not found in resource policy.")
    if not kept:
        return None
    return dict(policy or {}, Statement=kept)


def policy_text(policy: Mapping[str, Any]) -> str:
    return json.dumps(policy, separators=(",", ":"))
