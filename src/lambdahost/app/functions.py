"""Function management use cases: create, read, update, publish, delete, tags.

Every mutation validates first (pure core), then writes through the store
thread in one transaction; nothing is stored when validation fails. A small
read-through cache of versions and aliases keeps the invoke path off the
database; every write here invalidates it. (Single-node: a cluster will need
change notifications, see the store's revision ids.)
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lambdahost.app.code import CodeCache
from lambdahost.app.storethread import StoreThread
from lambdahost.core import config as cfg
from lambdahost.core import snapstart
from lambdahost.core.arns import (
    LATEST,
    ArnFactory,
    is_version,
    validate_bare_name,
)
from lambdahost.core.clock import Clock, lambda_timestamp
from lambdahost.core.codezip import CheckedZip, check_zip
from lambdahost.core.shapes import (
    decode_marker,
    encode_marker,
    function_configuration,
)
from lambdahost.errors import (
    ApiError,
    StoreConflict,
    function_not_found,
    invalid_parameter,
    precondition_failed,
    resource_conflict,
)
from lambdahost.store import Store
from lambdahost.store.repos import AliasRow, VersionRow

DEFAULT_PAGE = 50


@dataclass(frozen=True)
class Resolved:
    """What an invocation of (function, qualifier) runs."""

    row: VersionRow
    executed_version: str
    invoked_arn: str


def page_size(max_items: str | None) -> int:
    if max_items is None or max_items == "":
        return DEFAULT_PAGE
    try:
        value = int(max_items)
    except ValueError:
        raise invalid_parameter(f"Invalid MaxItems: {max_items}") from None
    if not 1 <= value <= 10000:
        raise ApiError(
            "ValidationException",
            f"1 validation error detected: Value '{value}' at 'maxItems' failed to satisfy "
            "constraint: Member must have value greater than or equal to 1",
        )
    return min(value, DEFAULT_PAGE)


class FunctionService:
    def __init__(
        self,
        store: StoreThread,
        code: CodeCache,
        arns: ArnFactory,
        clock: Clock,
        on_change: Callable[[str, str | None], None] = lambda name, retired: None,
        code_url_key: bytes = b"",
    ) -> None:
        self.code_url_key = code_url_key
        self.store = store
        self.code = code
        self.arns = arns
        self.clock = clock
        self.on_change = on_change
        self._versions: dict[tuple[str, str], VersionRow | None] = {}
        self._aliases: dict[tuple[str, str], AliasRow | None] = {}
        # Checks a configuration's layer version ARNs: [{"Arn", "CodeSize"}] (the platform
        # sets it to LayerService.function_layers).
        self.layer_resolver: Callable[[list[str]], Awaitable[list[dict[str, Any]]]] | None = None
        # Checks that a configuration's capacity provider exists (the platform sets it to
        # CapacityService.check_function).
        self.provider_check: Callable[[dict[str, Any]], Awaitable[None]] | None = None
        # Called with each newly published version (SnapStart snapshots it).
        self.published_listeners: list[Callable[[VersionRow], None]] = []

    # -- helpers -------------------------------------------------------------

    def _now(self) -> str:
        return lambda_timestamp(self.clock.time())

    def invalidate(self, name: str, retired: str | None = None) -> None:
        """Drop cached versions and aliases of ``name``.

        ``retired`` names what no longer runs: ``"$LATEST"`` after an update, a version
        number after its deletion, ``"*"`` when the whole function is gone. Environments
        of retired configurations are discarded; published versions never change, so
        their warm (and provisioned) environments survive updates of $LATEST.
        """
        for key in [k for k in self._versions if k[0] == name]:
            del self._versions[key]
        for key in [k for k in self._aliases if k[0] == name]:
            del self._aliases[key]
        self.on_change(name, retired)

    async def version(self, name: str, version: str) -> VersionRow | None:
        key = (name, version)
        if key in self._versions:
            return self._versions[key]
        row = await self.store.call(lambda s: s.functions.get_version(name, version))
        self._versions[key] = row
        return row

    async def alias(self, name: str, alias: str) -> AliasRow | None:
        key = (name, alias)
        if key in self._aliases:
            return self._aliases[key]
        row = await self.store.call(lambda s: s.functions.get_alias(name, alias))
        self._aliases[key] = row
        return row

    async def require_latest(self, name: str) -> VersionRow:
        row = await self.version(name, LATEST)
        if row is None:
            raise function_not_found(self.arns.function(name))
        return row

    async def resolve(self, name: str, qualifier: str | None, draw: float = 0.0) -> Resolved:
        """The version an invocation runs, following aliases and their weights."""
        if qualifier is None or qualifier == LATEST:
            row = await self.version(name, LATEST)
            if row is None:
                raise function_not_found(self.arns.function(name, qualifier))
            return Resolved(row, LATEST, self.arns.function(name, qualifier))
        if is_version(qualifier):
            row = await self.version(name, qualifier)
            if row is None:
                raise function_not_found(self.arns.function(name, qualifier))
            return Resolved(row, qualifier, self.arns.function(name, qualifier))
        alias = await self.alias(name, qualifier)
        if alias is None:
            raise function_not_found(self.arns.function(name, qualifier))
        from lambdahost.core.routing import pick_version

        weights = (alias.config.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        chosen = pick_version(alias.config["FunctionVersion"], weights, draw)
        row = await self.version(name, chosen)
        if row is None:
            raise function_not_found(self.arns.function(name, qualifier))
        return Resolved(row, chosen, self.arns.function(name, qualifier))

    def shape(self, row: VersionRow, arn_qualifier: str | None = None) -> dict[str, Any]:
        return function_configuration(
            self.arns, row.function_name, row.version, row.config, row.revision_id, arn_qualifier
        )

    async def _resolve_layers(self, config: dict[str, Any]) -> None:
        """Fill in ``Layers`` (each version must exist; CodeSize from the layer)."""
        layers = config.get("Layers")
        if not layers:
            return
        if self.layer_resolver is None:
            raise invalid_parameter("Layers are not available on this server.")
        config["Layers"] = await self.layer_resolver([str(item["Arn"]) for item in layers])

    async def _check_provider(self, config: dict[str, Any], body: Mapping[str, Any]) -> None:
        if body.get("CapacityProviderConfig") is not None and self.provider_check is not None:
            await self.provider_check(config)

    async def _check_zip(self, body: Mapping[str, Any]) -> CheckedZip:
        data = decode_zip(body.get("ZipFile"))
        return await asyncio.to_thread(check_zip, data)

    async def _extract(self, checked: CheckedZip) -> None:
        await asyncio.to_thread(self.code.extract, checked.sha256, checked.data)

    async def code_dir(self, sha256: str) -> str:
        """The extracted code of a version, fetching it from the store if needed."""
        if self.code.is_extracted(sha256):
            return str(self.code.path_for(sha256))
        data = await self.store.call(lambda s: s.code.get(sha256))
        if data is None:
            raise ApiError(
                "ServiceException",
                f"Code {sha256} is missing from the store",
                500,
                message_key="Message",
            )
        path = await asyncio.to_thread(self.code.extract, sha256, data)
        return str(path)

    # -- functions -----------------------------------------------------------

    async def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        body = cfg.ensure_object(body)
        if "FunctionName" not in body or not isinstance(body["FunctionName"], str):
            raise invalid_parameter("FunctionName is required.")
        name = validate_bare_name(body["FunctionName"])
        code = body.get("Code")
        if not isinstance(code, Mapping):
            raise invalid_parameter("Code is required.")
        if code.get("S3Bucket") or code.get("ImageUri"):
            raise invalid_parameter(
                "lambdahost accepts function code as Code.ZipFile only (S3 and image code "
                "locations are not supported yet)."
            )
        tags = cfg.validate_tags(body.get("Tags") or {})
        # Validate the configuration before the (costly) archive check.
        config = cfg.new_config(body, now=self._now(), code_sha256="", code_size=0)
        await self._check_provider(config, body)
        checked = await self._check_zip(code)
        config.update(CodeSha256=checked.sha256, CodeSize=checked.size)
        await self._resolve_layers(config)
        revision = str(uuid.uuid4())
        created = self.clock.time()

        def write(store: Store) -> None:
            store.code.put(checked.sha256, checked.data)
            store.functions.create(name, created, tags, config, revision)

        try:
            await self.store.call(write)
        except StoreConflict:
            raise resource_conflict(f"Function already exist: {name}") from None
        self.invalidate(name)
        await self._extract(checked)
        row = VersionRow(name, LATEST, config, revision)
        self._versions[(name, LATEST)] = row  # what was just stored: the first invoke needs it
        if body.get("Publish"):
            published = await self._publish(name, row, body.get("Description"))
            return self.shape(published)
        return self.shape(row)

    async def get_function(self, name: str, qualifier: str | None, endpoint: str) -> dict[str, Any]:
        resolved = await self._resolve_for_read(name, qualifier)
        function = await self.store.call(lambda s: s.functions.get(name))
        sha = resolved.row.config.get("CodeSha256", "")
        result: dict[str, Any] = {
            "Configuration": self.shape(resolved.row, qualifier),
            "Code": {"RepositoryType": "S3", "Location": self.code_location(endpoint, name, sha)},
        }
        if function is not None and function.tags:
            result["Tags"] = function.tags
        return result

    def code_location(self, endpoint: str, name: str, sha: str) -> str:
        from lambdahost.app.urls import sign_code_url

        return sign_code_url(endpoint, name, sha, self.code_url_key, self.clock.time())

    async def _resolve_for_read(self, name: str, qualifier: str | None) -> Resolved:
        if qualifier is not None and not is_version(qualifier):
            alias = await self.alias(name, qualifier)
            if alias is None:
                raise function_not_found(self.arns.function(name, qualifier))
            row = await self.version(name, alias.config["FunctionVersion"])
            if row is None:
                raise function_not_found(self.arns.function(name, qualifier))
            return Resolved(row, row.version, self.arns.function(name, qualifier))
        return await self.resolve(name, qualifier)

    async def get_configuration(self, name: str, qualifier: str | None) -> dict[str, Any]:
        resolved = await self._resolve_for_read(name, qualifier)
        return self.shape(resolved.row, qualifier)

    async def list_functions(
        self, marker: str | None, max_items: str | None, all_versions: bool
    ) -> dict[str, Any]:
        limit = page_size(max_items)
        after = decode_marker(marker)
        if all_versions:
            key = (str(after[0]), int(after[1])) if after else None
            rows = await self.store.call(lambda s: s.functions.list_all_versions(key, limit + 1))
        else:
            rows = await self.store.call(lambda s: s.functions.list_latest(after, limit + 1))
        result: dict[str, Any] = {"Functions": [self.shape(r) for r in rows[:limit]]}
        if len(rows) > limit:
            last = rows[limit - 1]
            result["NextMarker"] = encode_marker(
                [last.function_name, 0 if last.version == LATEST else int(last.version)]
                if all_versions
                else last.function_name
            )
        return result

    async def update_code(self, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        body = cfg.ensure_object(body)
        current = await self.require_latest(name)
        if body.get("S3Bucket") or body.get("ImageUri"):
            raise invalid_parameter(
                "lambdahost accepts function code as ZipFile only (S3 and image code locations "
                "are not supported yet)."
            )
        if "ZipFile" not in body:
            raise invalid_parameter("Please provide a source for function code.")
        self.check_revision(body, current.revision_id)
        checked = await self._check_zip(body)
        config = cfg.with_new_code(
            current.config,
            now=self._now(),
            code_sha256=checked.sha256,
            code_size=checked.size,
            architectures=body.get("Architectures"),
        )
        if body.get("DryRun"):
            return self.shape(VersionRow(name, LATEST, config, current.revision_id))
        revision = str(uuid.uuid4())

        def write(store: Store) -> bool:
            store.code.put(checked.sha256, checked.data)
            return store.functions.update_latest(name, config, revision, current.revision_id)

        if not await self.store.call(write):
            self.invalidate(name)
            raise precondition_failed()
        self.invalidate(name, LATEST)
        await self._extract(checked)
        row = VersionRow(name, LATEST, config, revision)
        if body.get("Publish"):
            return self.shape(await self._publish(name, row, None))
        return self.shape(row)

    async def update_configuration(self, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        body = cfg.ensure_object(body)
        current = await self.require_latest(name)
        self.check_revision(body, current.revision_id)
        config = cfg.updated_config(current.config, body, now=self._now())
        await self._check_provider(config, body)
        if body.get("Layers") is not None:
            await self._resolve_layers(config)
        revision = str(uuid.uuid4())
        ok = await self.store.call(
            lambda s: s.functions.update_latest(name, config, revision, current.revision_id)
        )
        self.invalidate(name, LATEST if ok else None)
        if not ok:
            raise precondition_failed()
        return self.shape(VersionRow(name, LATEST, config, revision))

    def check_revision(self, body: Mapping[str, Any], current: str) -> None:
        wanted = body.get("RevisionId")
        if wanted is not None and wanted != current:
            raise precondition_failed()

    async def delete(self, name: str, qualifier: str | None) -> None:
        if qualifier is None:
            if not await self.store.call(lambda s: s.functions.delete(name)):
                raise function_not_found(self.arns.function(name))
            self.invalidate(name, "*")
            return
        if qualifier == LATEST:
            raise invalid_parameter(
                "$LATEST version cannot be deleted without deleting the function."
            )
        if not is_version(qualifier):
            raise invalid_parameter(
                "Deletion of aliases is not supported through DeleteFunction. Use DeleteAlias."
            )
        aliases = await self.store.call(lambda s: s.functions.aliases_pointing_at(name, qualifier))
        if aliases:
            raise resource_conflict(
                "Unable to delete version because the following aliases reference it: "
                f"[{', '.join(aliases)}]"
            )
        if not await self.store.call(lambda s: s.functions.delete_version(name, qualifier)):
            raise function_not_found(self.arns.function(name, qualifier))
        self.invalidate(name, qualifier)

    # -- versions ------------------------------------------------------------

    async def publish_version(self, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        body = cfg.ensure_object(body)
        current = await self.require_latest(name)
        sha = body.get("CodeSha256")
        if sha is not None and sha != current.config.get("CodeSha256"):
            raise invalid_parameter(
                f"CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST "
                f"({current.config.get('CodeSha256')}). Please try publishing again."
            )
        self.check_revision(body, current.revision_id)
        description = body.get("Description")
        if description is not None:
            cfg.validate_description(description)
        return self.shape(await self._publish(name, current, description))

    async def _publish(self, name: str, latest: VersionRow, description: Any) -> VersionRow:
        last = await self.store.call(lambda s: s.functions.latest_published(name))
        if last is not None and cfg.same_publishable_content(last.config, latest.config):
            return last
        config = dict(latest.config)
        config["Description"] = (
            description if description is not None else latest.config.get("Description", "")
        )
        config["LastModified"] = self._now()
        if config.get("State") == "ActiveNonInvocable":
            config["State"] = "Active"  # a published Managed Instances version is invocable
        config = snapstart.published_config(config)  # Pending until its snapshot exists
        revision = str(uuid.uuid4())
        version = await self.store.call(
            lambda s: s.functions.publish(name, config, revision, latest.revision_id)
        )
        self.invalidate(name)
        if version is None:
            raise precondition_failed()
        row = VersionRow(name, version, config, revision)
        for listener in self.published_listeners:
            listener(row)
        return row

    async def list_versions(
        self, name: str, marker: str | None, max_items: str | None
    ) -> dict[str, Any]:
        await self.require_latest(name)
        limit = page_size(max_items)
        after = decode_marker(marker)
        after_num = int(after) if after is not None else -1
        rows = await self.store.call(
            lambda s: s.functions.list_versions(name, after_num, limit + 1)
        )
        result: dict[str, Any] = {"Versions": [self.shape(r) for r in rows[:limit]]}
        if len(rows) > limit:
            last = rows[limit - 1]
            result["NextMarker"] = encode_marker(0 if last.version == LATEST else int(last.version))
        return result

    # -- tags ----------------------------------------------------------------

    async def tag(self, name: str, tags: Mapping[str, Any]) -> None:
        function = await self.store.call(lambda s: s.functions.get(name))
        if function is None:
            raise function_not_found(self.arns.function(name))
        merged = {**function.tags, **cfg.validate_tags(tags)}
        if len(merged) > 50:
            raise invalid_parameter("Number of tags exceeds resource tag limit.")
        await self.store.call(lambda s: s.functions.set_tags(name, merged))

    async def untag(self, name: str, keys: list[str]) -> None:
        function = await self.store.call(lambda s: s.functions.get(name))
        if function is None:
            raise function_not_found(self.arns.function(name))
        remaining = {k: v for k, v in function.tags.items() if k not in set(keys)}
        await self.store.call(lambda s: s.functions.set_tags(name, remaining))

    async def list_tags(self, name: str) -> dict[str, str]:
        function = await self.store.call(lambda s: s.functions.get(name))
        if function is None:
            raise function_not_found(self.arns.function(name))
        return function.tags

    async def account_usage(self) -> dict[str, Any]:
        def usage(store: Store) -> tuple[int, int]:
            count = int(store.db.execute("SELECT COUNT(*) FROM functions")[0][0])
            return count, store.code.total_size()

        count, size = await self.store.call(usage)
        return {"TotalCodeSize": size, "FunctionCount": count}


def decode_zip(value: Any) -> bytes:
    if not isinstance(value, str) or not value:
        raise invalid_parameter("Please provide a source for function code.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise invalid_parameter(
            "Could not unzip uploaded file. Please check your file, then try to upload again."
        ) from None
