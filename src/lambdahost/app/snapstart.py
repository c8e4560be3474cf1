"""SnapStart at the platform level: snapshot each published version, track its state.

When a version of a function with ``SnapStart: {ApplyOn: PublishedVersions}`` is
published it is stored ``Pending``; this component then has the sandbox initialise it once
and keep the initialised environment as the version's template (``sandbox/snapstart.py``),
logs that init (INIT_START ... INIT_REPORT) in the function's log, and marks the version
``Active``, or ``Failed`` with the init error. Snapshots live in memory (a template
process): the sandbox drops one that has not been used for the idle timeout, and the next
cold start of its version makes it again (its REPORT then shows the Init Duration too), as
it does after a restart. Versions left ``Pending`` by a stop are snapshotted at start-up.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from lambdahost.app.functions import Resolved
from lambdahost.app.invoke import init_start_line
from lambdahost.core import logformat, snapstart
from lambdahost.sandbox import SandboxError
from lambdahost.sandbox.snapstart import SnapshotError
from lambdahost.store import Store
from lambdahost.store.repos import VersionRow

if TYPE_CHECKING:
    from lambdahost.app.platform import Platform

log = logging.getLogger("lambdahost.snapstart")
_ATTEMPTS = 5  # a platform-side failure (no capacity, say) is retried before giving up


class SnapStartService:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}

    async def start(self) -> None:
        self.platform.functions.published_listeners.append(self.snapshot_later)
        versions = await self.platform.store.call(_pending_versions)
        self._tasks[("", "")] = asyncio.create_task(self._snapshot_all(versions))
        self._tasks[("", "")].add_done_callback(lambda _: self._tasks.pop(("", ""), None))

    async def _snapshot_all(self, rows: list[VersionRow]) -> None:
        for row in rows:
            await self._snapshot(row)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def snapshot_later(self, row: VersionRow) -> None:
        if not snapstart.enabled(row.config, row.version):
            return
        key = (row.function_name, row.version)
        if key in self._tasks:
            return
        task = asyncio.create_task(self._snapshot(row), name=f"snapshot-{row.function_name}")
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._tasks.pop(key, None))

    async def _snapshot(self, row: VersionRow) -> None:
        platform = self.platform
        name, version = row.function_name, row.version
        resolved = Resolved(row, version, platform.arns.function(name, version))
        spec = await platform.invoker.spec_for(resolved)
        if not spec.snap_start:
            platform.logs.append(
                name,
                f"lambdahost: SnapStart is not applied to version {version}: functions with "
                "external extensions run on the Runtime API and initialise on demand\n",
            )
            await self._set_state(name, version, {"State": "Active"})
            return
        for attempt in range(_ATTEMPTS):
            try:
                info = await platform.manager.prepare_snapshot(spec)
            except SnapshotError as e:
                self._log(name, spec.runtime, e.log, e.error_type, None)
                await self._set_state(
                    name, version, snapstart.failure_state(e.error_type, e.message)
                )
                return
            except SandboxError as e:
                log.warning(
                    "snapshot of %s:%s failed (attempt %d): %s", name, version, attempt + 1, e
                )
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            self._log(name, spec.runtime, info.log, None, info.init_ms)
            if not await self._set_state(name, version, {"State": "Active"}):
                platform.manager.discard(spec.key)  # the version was deleted meanwhile
            return
        await self._set_state(
            name,
            version,
            {
                "State": "Failed",
                "StateReasonCode": "InternalError",
                "StateReason": "lambdahost could not find room for the snapshot's environment.",
            },
        )

    def _log(
        self, name: str, runtime: str, output: str, error_type: str | None, init_ms: float | None
    ) -> None:
        text = init_start_line(runtime, self.platform.settings.region) + output
        if text and not text.endswith("\n"):
            text += "\n"
        text += logformat.init_report_line(init_ms or 0.0, error_type)
        self.platform.logs.append(name, text)

    async def _set_state(self, name: str, version: str, fields: dict[str, str]) -> bool:
        """Record the version's state; False if the version is gone."""
        found = await self.platform.store.call(
            lambda s: s.functions.set_version_state(name, version, fields)
        )
        self.platform.functions.invalidate(name)
        return found


def _pending_versions(store: Store) -> list[VersionRow]:
    """SnapStart versions whose snapshot was not made before the server stopped."""
    out: list[VersionRow] = []
    after: tuple[str, int] | None = None
    while True:
        page = store.functions.list_all_versions(after, 500)
        if not page:
            return out
        out.extend(
            r
            for r in page
            if snapstart.enabled(r.config, r.version) and r.config.get("State") == "Pending"
        )
        last = page[-1]
        after = (last.function_name, int(last.version) if last.version.isdigit() else 0)
