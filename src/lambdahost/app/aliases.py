"""Alias use cases: create, read, update (with RevisionId), delete, list; routing weights.

Aliases live beside their function in the store; reads go through the
function service's cache, and every write invalidates it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from lambdahost.app.functions import FunctionService, page_size
from lambdahost.core import config as cfg
from lambdahost.core.arns import LATEST, is_version, validate_alias_name, validate_version
from lambdahost.core.shapes import alias_configuration, decode_marker, encode_marker
from lambdahost.errors import (
    ApiError,
    StoreConflict,
    function_not_found,
    invalid_parameter,
    precondition_failed,
    resource_conflict,
    resource_not_found,
)


class AliasService:
    def __init__(self, functions: FunctionService) -> None:
        self.functions = functions

    async def _validate_alias_target(
        self, name: str, body: Mapping[str, Any], version: str
    ) -> dict[str, Any] | None:
        validate_version(version)
        if await self.functions.version(name, version) is None:
            raise function_not_found(self.functions.arns.function(name, version))
        routing = body.get("RoutingConfig")
        if not routing:
            return None
        weights = routing.get("AdditionalVersionWeights") or {}
        if not isinstance(weights, Mapping) or len(weights) > 1:
            raise invalid_parameter(
                "Number of items in AdditionalVersionWeights cannot be greater than 1"
            )
        for extra, weight in weights.items():
            if not isinstance(weight, int | float) or not 0.0 <= float(weight) <= 1.0:
                raise ApiError(
                    "ValidationException",
                    f"1 validation error detected: Value '{weight}' at "
                    "'routingConfig.additionalVersionWeights' failed to satisfy constraint: "
                    "Map value must satisfy constraint: [Member must have value less than or "
                    "equal to 1.0, Member must have value greater than or equal to 0.0]",
                )
            if extra == LATEST or version == LATEST:
                raise invalid_parameter(
                    "$LATEST is not supported for an alias pointing to more than 1 version"
                )
            if extra == version:
                raise invalid_parameter(
                    f"Invalid function version {extra}. Function version {extra} is already "
                    "included in routing configuration."
                )
            if not is_version(extra) or await self.functions.version(name, extra) is None:
                raise invalid_parameter(f"Function version {extra} does not exist.")
        return {"AdditionalVersionWeights": {k: float(v) for k, v in weights.items()}}

    async def create_alias(self, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        body = cfg.ensure_object(body)
        await self.functions.require_latest(name)
        alias = validate_alias_name(str(body.get("Name", "")))
        version = str(body.get("FunctionVersion", ""))
        routing = await self._validate_alias_target(name, body, version)
        description = cfg.validate_description(body.get("Description") or "")
        config: dict[str, Any] = {"FunctionVersion": version, "Description": description}
        if routing:
            config["RoutingConfig"] = routing
        revision = str(uuid.uuid4())
        try:
            await self.functions.store.call(
                lambda s: s.functions.create_alias(name, alias, config, revision)
            )
        except StoreConflict:
            raise resource_conflict(
                f"Alias already exists: {self.functions.arns.alias(name, alias)}"
            ) from None
        self.functions.invalidate(name)
        return alias_configuration(self.functions.arns, name, alias, config, revision)

    async def get_alias(self, name: str, alias: str) -> dict[str, Any]:
        await self.functions.require_latest(name)
        row = await self.functions.alias(name, alias)
        if row is None:
            raise resource_not_found(f"Alias not found: {self.functions.arns.alias(name, alias)}")
        return alias_configuration(self.functions.arns, name, alias, row.config, row.revision_id)

    async def update_alias(self, name: str, alias: str, body: Mapping[str, Any]) -> dict[str, Any]:
        body = cfg.ensure_object(body)
        await self.functions.require_latest(name)
        row = await self.functions.alias(name, alias)
        if row is None:
            raise resource_not_found(f"Alias not found: {self.functions.arns.alias(name, alias)}")
        self.functions.check_revision(body, row.revision_id)
        config = dict(row.config)
        version = str(body.get("FunctionVersion") or config["FunctionVersion"])
        merged = dict(body)
        if "RoutingConfig" not in body and config.get("RoutingConfig"):
            merged["RoutingConfig"] = config["RoutingConfig"]
        routing = await self._validate_alias_target(name, merged, version)
        config["FunctionVersion"] = version
        if body.get("Description") is not None:
            config["Description"] = cfg.validate_description(body["Description"])
        if routing:
            config["RoutingConfig"] = routing
        else:
            config.pop("RoutingConfig", None)
        revision = str(uuid.uuid4())
        ok = await self.functions.store.call(
            lambda s: s.functions.update_alias(name, alias, config, revision, row.revision_id)
        )
        self.functions.invalidate(name)
        if not ok:
            raise precondition_failed()
        return alias_configuration(self.functions.arns, name, alias, config, revision)

    async def delete_alias(self, name: str, alias: str) -> None:
        await self.functions.require_latest(name)
        await self.functions.store.call(lambda s: s.functions.delete_alias(name, alias))
        self.functions.invalidate(name)

    async def list_aliases(
        self, name: str, version: str | None, marker: str | None, max_items: str | None
    ) -> dict[str, Any]:
        await self.functions.require_latest(name)
        limit = page_size(max_items)
        after = decode_marker(marker)
        rows = await self.functions.store.call(
            lambda s: s.functions.list_aliases(name, after, 10_000)
        )
        if version:
            rows = [
                r
                for r in rows
                if r.config["FunctionVersion"] == version
                or version
                in ((r.config.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {})
            ]
        result: dict[str, Any] = {
            "Aliases": [
                alias_configuration(self.functions.arns, name, r.name, r.config, r.revision_id)
                for r in rows[:limit]
            ]
        }
        if len(rows) > limit:
            result["NextMarker"] = encode_marker(rows[limit - 1].name)
        return result
