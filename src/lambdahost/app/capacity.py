"""Capacity providers (Lambda Managed Instances): Create/Get/Update/Delete/List and budgets.

A capacity provider is a named compute budget. On AWS it launches EC2 instances
in a VPC; here it is a budget on this host: ``MaxVCpuCount`` vCPUs, shared by the
execution environments of the function versions on it (``app.instance_gate``).
The VPC, permissions and instance requirements are validated and kept, but
they place nothing. A provider goes straight to ``Active`` (lambdahost has
nothing to launch) and cannot be deleted while function versions use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lambdahost.core.arns import constraint_error
from lambdahost.core.clock import lambda_timestamp
from lambdahost.core.config import ROLE_PATTERN, validate_tags
from lambdahost.core.shapes import decode_marker, encode_marker
from lambdahost.errors import (
    StoreConflict,
    invalid_parameter,
    resource_conflict,
    resource_not_found,
)
from lambdahost.store.capacity import CapacityProviderRow

if TYPE_CHECKING:
    from lambdahost.app.platform import Platform

NAME_PATTERN = r"[a-zA-Z0-9-_]+"
ARN_PATTERN = r"arn:aws[a-zA-Z-]*:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:capacity-provider:(?P<name>[a-zA-Z0-9-_]+)"
DEFAULT_MAX_VCPU = 400  # AWS's default account quota for a provider's vCPUs


def provider_name(value: str) -> str:
    """Accept a name or an ARN, as the model's CapacityProviderName pattern does."""
    match = re.fullmatch(ARN_PATTERN, value)
    if match:
        return match.group("name")
    if not value or len(value) > 140 or not re.fullmatch(NAME_PATTERN, value):
        raise constraint_error(
            value,
            "capacityProviderName",
            "Member must satisfy regular expression pattern: "
            r"(arn:aws[a-zA-Z-]*:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:"
            r"\d{12}:capacity-provider:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+",
        )
    return value


def _validate_scaling(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise invalid_parameter("CapacityProviderScalingConfig must be an object.")
    result: dict[str, Any] = {}
    if "MaxVCpuCount" in value:
        vcpus = value["MaxVCpuCount"]
        if isinstance(vcpus, bool) or not isinstance(vcpus, int) or not 2 <= vcpus <= 15000:
            raise constraint_error(
                vcpus,
                "capacityProviderScalingConfig.maxVCpuCount",
                "Member must have value between 2 and 15000",
            )
        result["MaxVCpuCount"] = vcpus
    mode = value.get("ScalingMode", "Auto")
    if mode not in ("Auto", "Manual"):
        raise constraint_error(
            mode,
            "capacityProviderScalingConfig.scalingMode",
            "Member must satisfy enum value set: [Auto, Manual]",
        )
    result["ScalingMode"] = mode
    policies = value.get("ScalingPolicies")
    if policies is not None:
        if mode != "Manual":
            raise invalid_parameter("ScalingPolicies can only be set when ScalingMode is Manual.")
        result["ScalingPolicies"] = list(policies)
    return result


def _validate_create(body: Mapping[str, Any]) -> dict[str, Any]:
    vpc = body.get("VpcConfig")
    if not isinstance(vpc, Mapping) or not vpc.get("SubnetIds") or "SecurityGroupIds" not in vpc:
        raise invalid_parameter("VpcConfig with SubnetIds and SecurityGroupIds is required.")
    if len(vpc["SubnetIds"]) > 16:
        raise invalid_parameter("VpcConfig.SubnetIds can have at most 16 subnets.")
    permissions = body.get("PermissionsConfig")
    role = (
        permissions.get("CapacityProviderOperatorRoleArn")
        if isinstance(permissions, Mapping)
        else None
    )
    if not isinstance(role, str) or not re.fullmatch(ROLE_PATTERN, role):
        raise constraint_error(
            role,
            "permissionsConfig.capacityProviderOperatorRoleArn",
            f"Member must satisfy regular expression pattern: {ROLE_PATTERN}",
        )
    config: dict[str, Any] = {
        "VpcConfig": {
            "SubnetIds": list(vpc["SubnetIds"]),
            "SecurityGroupIds": list(vpc["SecurityGroupIds"]),
        },
        "PermissionsConfig": {"CapacityProviderOperatorRoleArn": role},
        "CapacityProviderScalingConfig": _validate_scaling(
            body.get("CapacityProviderScalingConfig") or {}
        ),
    }
    requirements = body.get("InstanceRequirements")
    if requirements is not None:
        architectures = requirements.get("Architectures") or ["x86_64"]
        if any(a not in ("x86_64", "arm64") for a in architectures):
            raise constraint_error(
                architectures,
                "instanceRequirements.architectures",
                "Member must satisfy enum value set: [x86_64, arm64]",
            )
        config["InstanceRequirements"] = dict(requirements)
    for key in ("KmsKeyArn", "PropagateTags", "TelemetryConfig"):
        if body.get(key) is not None:
            config[key] = body[key]
    return config


class CapacityService:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    async def attached(self, arn: str) -> list[tuple[str, str]]:
        """(function version ARN, State) of every function version configured with ``arn``."""
        rows = await self.platform.store.call(lambda s: s.capacity.function_versions(arn))
        arns = self.platform.arns
        return [(arns.function(name, version), state) for name, version, state in rows]

    def arn(self, name: str) -> str:
        arns = self.platform.arns
        return (
            f"arn:{arns.partition}:lambda:{arns.region}:{arns.account_id}:capacity-provider:{name}"
        )

    def shape(self, row: CapacityProviderRow, state: str = "Active") -> dict[str, Any]:
        shape: dict[str, Any] = {"CapacityProviderArn": self.arn(row.name), "State": state}
        shape.update(row.config)
        shape["LastModified"] = row.last_modified
        return shape

    def _now(self) -> str:
        return lambda_timestamp(self.platform.clock.time())

    async def create(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, Mapping) or not isinstance(body.get("CapacityProviderName"), str):
            raise invalid_parameter("CapacityProviderName is required.")
        name = body["CapacityProviderName"]
        if (
            re.fullmatch(ARN_PATTERN, name)
            or not re.fullmatch(NAME_PATTERN, name)
            or len(name) > 140
        ):
            provider_name(name)  # raises with the model's wording
            raise invalid_parameter("Create a capacity provider with a name, not an ARN.")
        config = _validate_create(body)
        tags = validate_tags(body.get("Tags") or {})
        row = CapacityProviderRow(name, config, tags, self._now())
        try:
            await self.platform.store.call(lambda s: s.capacity.create(row))
        except StoreConflict:
            raise resource_conflict(f"Capacity provider {name} already exists.") from None
        return {"CapacityProvider": self.shape(row)}

    async def _require(self, value: str) -> CapacityProviderRow:
        name = provider_name(value)
        row = await self.platform.store.call(lambda s: s.capacity.get(name))
        if row is None:
            raise resource_not_found(f"Capacity provider not found: {self.arn(name)}")
        return row

    async def get(self, value: str) -> dict[str, Any]:
        return {"CapacityProvider": self.shape(await self._require(value))}

    async def update(self, value: str, body: Any) -> dict[str, Any]:
        row = await self._require(value)
        config = dict(row.config)
        if isinstance(body, Mapping):
            if body.get("CapacityProviderScalingConfig") is not None:
                config["CapacityProviderScalingConfig"] = _validate_scaling(
                    body["CapacityProviderScalingConfig"]
                )
            for key in ("PropagateTags", "TelemetryConfig"):
                if body.get(key) is not None:
                    config[key] = body[key]
        now = self._now()
        await self.platform.store.call(lambda s: s.capacity.update(row.name, config, now))
        return {
            "CapacityProvider": self.shape(CapacityProviderRow(row.name, config, row.tags, now))
        }

    async def delete(self, value: str) -> dict[str, Any]:
        row = await self._require(value)
        users = await self.attached(self.arn(row.name))
        if users:
            raise resource_conflict(
                f"Capacity provider {row.name} is in use by function versions: "
                + ", ".join(arn for arn, _ in users)
            )
        await self.platform.store.call(lambda s: s.capacity.delete(row.name))
        return {"CapacityProvider": self.shape(row, "Deleting")}

    async def list(
        self, state: str | None, marker: str | None, max_items: str | None
    ) -> dict[str, Any]:
        from lambdahost.app.functions import page_size

        limit = page_size(max_items)
        after = decode_marker(marker)
        rows = await self.platform.store.call(lambda s: s.capacity.list(after, limit + 1))
        shapes = [self.shape(r) for r in rows[:limit]]
        if state:
            shapes = [s for s in shapes if s["State"] == state]
        result: dict[str, Any] = {"CapacityProviders": shapes}
        if len(rows) > limit:
            result["NextMarker"] = encode_marker(rows[limit - 1].name)
        return result

    async def function_versions(
        self, value: str, marker: str | None = None, max_items: str | None = None
    ) -> dict[str, Any]:
        from lambdahost.app.functions import page_size

        row = await self._require(value)
        arn = self.arn(row.name)
        limit = page_size(max_items)
        start = int(decode_marker(marker) or 0)
        users = await self.attached(arn)
        result: dict[str, Any] = {
            "CapacityProviderArn": arn,
            "FunctionVersions": [
                {"FunctionArn": f, "State": state} for f, state in users[start : start + limit]
            ],
        }
        if len(users) > start + limit:
            result["NextMarker"] = encode_marker(start + limit)
        return result

    async def _lookup(self, arn: str) -> CapacityProviderRow | None:
        match = re.fullmatch(ARN_PATTERN, arn)
        if match is None or self.arn(match.group("name")) != arn:
            return None  # another account or region: not a provider of this server
        return await self.platform.store.call(lambda s: s.capacity.get(match.group("name")))

    async def check_function(self, config: dict[str, Any]) -> None:
        """A function configuration's capacity provider must exist."""
        from lambdahost.core.managed_instances import provider_arn

        arn = provider_arn(config)
        if arn is not None and await self._lookup(arn) is None:
            raise invalid_parameter(f"Capacity provider {arn} does not exist.")

    async def vcpu_limit(self, arn: str) -> int:
        """The MaxVCpuCount shared by the function versions on provider ``arn``."""
        row = await self._lookup(arn)
        scaling = (row.config.get("CapacityProviderScalingConfig") or {}) if row else {}
        return int(scaling.get("MaxVCpuCount", DEFAULT_MAX_VCPU))
