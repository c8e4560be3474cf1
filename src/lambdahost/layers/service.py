"""Layer use cases: publish, read, list, delete, permissions, and a function's ``/opt``.

Publishing checks the zip like a function's package (``core.codezip``: at most 50 MB
zipped and 250 MB unzipped, no member or symbolic link escaping the root, so nothing
can be written outside ``/opt``), stores it as a content-addressed code blob and the
version's document in ``LayerRepo``. ``opt_dir`` gives the directory an environment
mounts at ``/opt``: the function's layers extracted in order (later layers overwrite
earlier files), merged with hard links under ``<data>/layers/<key>``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from lambdahost.app.storethread import StoreThread
from lambdahost.app.urls import sign_code_url
from lambdahost.core.arns import ArnFactory
from lambdahost.core.clock import Clock, lambda_timestamp
from lambdahost.core.codezip import check_zip
from lambdahost.core.shapes import decode_marker, encode_marker
from lambdahost.errors import invalid_parameter, precondition_failed
from lambdahost.layers import model
from lambdahost.layers.repo import LayerRepo, LayerVersionRow
from lambdahost.store import Store

DEFAULT_PAGE = 50


def _page_size(max_items: str | None) -> int:
    if not max_items:
        return DEFAULT_PAGE
    try:
        value = int(max_items)
    except ValueError:
        raise invalid_parameter(f"Invalid MaxItems: {max_items}") from None
    if not 1 <= value <= 50:
        raise invalid_parameter("MaxItems must be between 1 and 50.")
    return value


def merge_trees(sources: list[Path], target: Path) -> None:
    """Overlay ``sources`` in order into a new directory ``target`` (hard links, or copies)."""
    staging = Path(tempfile.mkdtemp(prefix=".merge-", dir=target.parent))
    try:
        for source in sources:
            for dirpath, dirnames, filenames in os.walk(source):
                rel = Path(dirpath).relative_to(source)
                out_dir = staging / rel
                out_dir.mkdir(parents=True, exist_ok=True)
                links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
                for name in [*filenames, *links]:
                    src, dst = os.path.join(dirpath, name), out_dir / name
                    if dst.is_dir() and not dst.is_symlink():
                        shutil.rmtree(dst)
                    elif os.path.lexists(dst):
                        dst.unlink()
                    if os.path.islink(src):
                        os.symlink(os.readlink(src), dst)
                        continue
                    try:
                        os.link(src, dst)
                    except OSError:
                        shutil.copy2(src, dst)
                dirnames[:] = [d for d in dirnames if d not in links]
        os.chmod(staging, 0o755)
        try:
            os.rename(staging, target)
        except OSError:
            if not target.is_dir():
                raise
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


class LayerService:
    def __init__(
        self,
        store: StoreThread,
        arns: ArnFactory,
        clock: Clock,
        root: Path,
        code_dir: Callable[[str], Awaitable[str]],
        url_key: bytes,
    ) -> None:
        self.store = store
        self.arns = arns
        self.clock = clock
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.code_dir = code_dir
        self.url_key = url_key

    def layer_arn(self, name: str) -> str:
        a = self.arns
        return f"arn:{a.partition}:lambda:{a.region}:{a.account_id}:layer:{name}"

    def _shape(self, row: LayerVersionRow, endpoint: str) -> dict[str, Any]:
        location = sign_code_url(
            endpoint, f"layer:{row.name}", row.code_sha256, self.url_key, self.clock.time()
        )
        return model.version_shape(self.layer_arn(row.name), row.version, row.doc, location)

    async def _get(self, name: str, version: int, deleted: bool = False) -> LayerVersionRow | None:
        return await self.store.call(lambda s: LayerRepo(s.db).get(name, version, deleted=deleted))

    async def _require(self, name: str, version: int) -> LayerVersionRow:
        row = await self._get(name, version)
        if row is None:
            raise model.not_found()
        return row

    # -- layer versions -----------------------------------------------------------------------
    async def publish(
        self, raw_name: str, body: Mapping[str, Any], endpoint: str
    ) -> dict[str, Any]:
        name = model.layer_name(raw_name)
        content = body.get("Content")
        if not isinstance(content, Mapping):
            raise invalid_parameter("Content is required.")
        if content.get("S3Bucket"):
            raise invalid_parameter("lambdahost accepts layer content as Content.ZipFile only.")
        zip_b64 = content.get("ZipFile")
        if not isinstance(zip_b64, str) or not zip_b64:
            raise invalid_parameter("Please provide a source for layer content.")
        now = self.clock.time()
        model.publish_document(body, now=lambda_timestamp(now), sha256="", size=0)
        try:
            data = base64.b64decode(zip_b64, validate=True)
        except (binascii.Error, ValueError):
            raise invalid_parameter(
                "Could not unzip uploaded file. Please check your file, then try to upload again."
            ) from None
        checked = await asyncio.to_thread(check_zip, data)
        doc = model.publish_document(
            body, now=lambda_timestamp(now), sha256=checked.sha256, size=checked.size
        )

        def write(store: Store) -> LayerVersionRow:
            store.code.put(checked.sha256, checked.data)
            version = LayerRepo(store.db).publish(name, doc, checked.sha256, checked.size, now)
            return LayerVersionRow(name, version, doc, checked.sha256, None, None)

        return self._shape(await self.store.call(write), endpoint)

    async def get(self, raw_name: str, raw_version: str, endpoint: str) -> dict[str, Any]:
        row = await self._require(model.layer_name(raw_name), model.version_number(raw_version))
        return self._shape(row, endpoint)

    async def get_by_arn(self, arn: str | None, endpoint: str) -> dict[str, Any]:
        ref = model.parse_version_arn(arn)
        if ref.account != self.arns.account_id or ref.region != self.arns.region:
            raise model.not_found()
        return self._shape(await self._require(ref.name, ref.version), endpoint)

    async def delete(self, raw_name: str, raw_version: str) -> None:
        name, version = model.layer_name(raw_name), model.version_number(raw_version)
        await self.store.call(lambda s: LayerRepo(s.db).delete(name, version))

    async def list_versions(
        self,
        raw_name: str,
        runtime: str | None,
        arch: str | None,
        marker: str | None,
        max_items: str | None,
    ) -> dict[str, Any]:
        name = model.layer_name(raw_name)
        limit = _page_size(max_items)
        after = decode_marker(marker)
        rows = await self.store.call(lambda s: LayerRepo(s.db).versions(name))
        rows = [
            r
            for r in rows
            if model.matches(r.doc, runtime, arch) and (after is None or r.version < int(after))
        ]
        arn = self.layer_arn(name)
        result: dict[str, Any] = {
            "LayerVersions": [model.list_item(arn, r.version, r.doc) for r in rows[:limit]]
        }
        if len(rows) > limit:
            result["NextMarker"] = encode_marker(rows[limit - 1].version)
        return result

    async def list_layers(
        self, runtime: str | None, arch: str | None, marker: str | None, max_items: str | None
    ) -> dict[str, Any]:
        limit = _page_size(max_items)
        after = decode_marker(marker)
        rows = await self.store.call(lambda s: LayerRepo(s.db).all_versions())
        latest: dict[str, LayerVersionRow] = {}
        for r in rows:  # newest first within each name
            if r.name not in latest and model.matches(r.doc, runtime, arch):
                latest[r.name] = r
        names = sorted(n for n in latest if after is None or n > str(after))
        items = []
        for n in names[:limit]:
            r = latest[n]
            arn = self.layer_arn(n)
            items.append(
                {
                    "LayerName": n,
                    "LayerArn": arn,
                    "LatestMatchingVersion": model.list_item(arn, r.version, r.doc),
                }
            )
        result: dict[str, Any] = {"Layers": items}
        if len(names) > limit:
            result["NextMarker"] = encode_marker(names[limit - 1])
        return result

    # -- permissions ----------------------------------------------------------------------------
    async def add_permission(
        self, raw_name: str, raw_version: str, body: Mapping[str, Any], revision: str | None
    ) -> dict[str, Any]:
        name, version = model.layer_name(raw_name), model.version_number(raw_version)
        row = await self._require(name, version)
        if revision is not None and revision != row.policy_revision:
            raise precondition_failed()
        policy, statement = model.add_statement(
            row.policy, body, f"{self.layer_arn(name)}:{version}"
        )
        new_revision = str(uuid.uuid4())
        ok = await self.store.call(
            lambda s: LayerRepo(s.db).set_policy(
                name, version, policy, new_revision, row.policy_revision
            )
        )
        if not ok:
            raise precondition_failed()
        return {"Statement": model.policy_text(statement), "RevisionId": new_revision}

    async def get_policy(self, raw_name: str, raw_version: str) -> dict[str, Any]:
        row = await self._require(model.layer_name(raw_name), model.version_number(raw_version))
        if not row.policy:
            raise model.not_found("No policy is associated with the given resource.")
        return {"Policy": model.policy_text(row.policy), "RevisionId": row.policy_revision}

    async def remove_permission(
        self, raw_name: str, raw_version: str, sid: str, revision: str | None
    ) -> None:
        name, version = model.layer_name(raw_name), model.version_number(raw_version)
        row = await self._require(name, version)
        if revision is not None and revision != row.policy_revision:
            raise precondition_failed()
        policy = model.remove_statement(row.policy, sid)
        new_revision = str(uuid.uuid4()) if policy is not None else None
        ok = await self.store.call(
            lambda s: LayerRepo(s.db).set_policy(
                name, version, policy, new_revision, row.policy_revision
            )
        )
        if not ok:
            raise precondition_failed()

    # -- functions ------------------------------------------------------------------------------
    async def function_layers(self, arns: list[str]) -> list[dict[str, Any]]:
        """``Layers`` of a function configuration: each version must exist here."""
        out: list[dict[str, Any]] = []
        for arn in arns:
            ref = model.parse_version_arn(arn, "layers")
            row = None
            if ref.account == self.arns.account_id and ref.region == self.arns.region:
                row = await self._get(ref.name, ref.version)
            if row is None:
                raise invalid_parameter(f"Layer version {arn} does not exist.")
            out.append({"Arn": arn, "CodeSize": row.doc["CodeSize"]})
        return out

    async def opt_dir(self, layers: list[Mapping[str, Any]]) -> str | None:
        """The directory a function's environments see as ``/opt`` (None without layers)."""
        if not layers:
            return None
        dirs: list[Path] = []
        for item in layers:
            ref = model.parse_version_arn(item.get("Arn"), "layers")
            row = await self._get(ref.name, ref.version, deleted=True)
            if row is None:
                raise invalid_parameter(f"Layer version {item.get('Arn')} does not exist.")
            dirs.append(Path(await self.code_dir(row.code_sha256)))
        if len(dirs) == 1:
            return str(dirs[0])
        key = hashlib.sha256("\n".join(str(d) for d in dirs).encode()).hexdigest()[:32]
        target = self.root / key
        if not target.is_dir():
            await asyncio.to_thread(merge_trees, dirs, target)
        return str(target)
