"""The assembled platform: settings, store, sandbox, services, background tasks.

``Platform`` wires the pieces together and owns their lifecycle; the HTTP edge
(``lambdahost.api.app``) and the CLI's ``up`` command only talk to it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

from lambdahost.app.aliases import AliasService
from lambdahost.app.capacity import CapacityService
from lambdahost.app.code import CodeCache
from lambdahost.app.component import Component
from lambdahost.app.concurrency import ConcurrencyService
from lambdahost.app.credentials import RootKeys, load_or_create
from lambdahost.app.events import EventDispatcher
from lambdahost.app.functions import FunctionService
from lambdahost.app.instance_gate import InstanceGate
from lambdahost.app.invoke import InvokeService, PlatformIdentity
from lambdahost.app.invoke_configs import Destinations, InvokeConfigService
from lambdahost.app.logs import LogStore
from lambdahost.app.provisioned import ProvisionedService
from lambdahost.app.scaling import ScalingService
from lambdahost.app.snapstart import SnapStartService
from lambdahost.app.storethread import StoreThread
from lambdahost.core.arns import ArnFactory
from lambdahost.core.clock import Clock, SystemClock
from lambdahost.layers.service import LayerService
from lambdahost.sandbox import EnvironmentManager, SandboxSettings
from lambdahost.settings import Settings, effective_memory_budget

log = logging.getLogger("lambdahost")


class Platform:
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        data = Path(settings.data_dir)
        data.mkdir(parents=True, exist_ok=True)
        self.keys: RootKeys = load_or_create(
            data, settings.access_key_id, settings.secret_access_key
        )
        self.arns = ArnFactory(settings.region, settings.account_id)
        self.endpoint = settings.endpoint
        self.store = StoreThread(settings.resolved_store_url())
        self.logs = LogStore(data / "logs")
        self.code_url_key = hashlib.sha256(
            ("code-url:" + self.keys.secret_access_key).encode()
        ).digest()
        self.manager = EnvironmentManager(
            SandboxSettings(
                work_dir=str(data / "envs"),
                idle_timeout_s=settings.idle_timeout_s,
                max_environments=settings.max_environments,
                memory_budget_mb=effective_memory_budget(settings.memory_budget_mb),
            )
        )
        self.functions = FunctionService(
            self.store,
            CodeCache(data / "code"),
            self.arns,
            self.clock,
            on_change=self._function_changed,
            code_url_key=self.code_url_key,
        )
        self.layers = LayerService(
            self.store,
            self.arns,
            self.clock,
            data / "layers",
            self.functions.code_dir,
            self.code_url_key,
        )
        self.functions.layer_resolver = self.layers.function_layers
        self.aliases = AliasService(self.functions)
        self.concurrency = ConcurrencyService(self, settings.account_concurrency)
        self.invoker = InvokeService(
            self.concurrency.ledger,
            self.functions,
            self.manager,
            self.logs,
            self.store,
            PlatformIdentity(
                settings.region, self.endpoint, self.keys.access_key_id, self.keys.secret_access_key
            ),
            self.clock,
            layers=self.layers,
        )
        self.provisioned = ProvisionedService(self)
        self.snapstart = SnapStartService(self)
        self.capacity = CapacityService(self)
        self.functions.provider_check = self.capacity.check_function
        self.instance_gate = InstanceGate(self)
        self.invoker.admit = self.instance_gate.admit
        self.scaling = ScalingService(self)
        self.destinations = Destinations(self)
        self.invoke_configs = InvokeConfigService(self, self.destinations)
        self.dispatcher = EventDispatcher(self, workers=settings.event_workers)
        from lambdahost.durable.engine import DurableEngine
        from lambdahost.esm.supervisor import EsmSupervisor
        from lambdahost.sqs.service import SqsBackend

        self.sqs = SqsBackend(self)
        self.esm = EsmSupervisor(self)
        self.durable = DurableEngine(self)
        # Started in this order after the store and sandbox; stopped in reverse.
        self.components: list[Component] = [
            self.concurrency,
            self.provisioned,
            self.snapstart,
            self.scaling,
            self.sqs,
            self.dispatcher,
            self.esm,
            self.durable,
        ]
        self._flusher: asyncio.Task[None] | None = None
        # Called with (function name, retired qualifier or "*" or None) after every change.
        self.change_listeners: list[Callable[[str, str | None], None]] = []

    def _function_changed(self, name: str, retired: str | None) -> None:
        if retired is not None:
            self.invoker.forget(f"{name}:" if retired == "*" else f"{name}:{retired}:")
        self.invoke_configs.forget(name)
        for listener in self.change_listeners:
            listener(name, retired)

    async def start(self) -> None:
        await asyncio.to_thread(self.store.start)
        await self.manager.start()
        for component in self.components:
            await component.start()
        self._flusher = asyncio.create_task(self._flush_logs(), name="log-flusher")

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
        for component in reversed(self.components):
            await component.stop()
        await self.manager.close()
        self.logs.flush()
        self.logs.close()
        await asyncio.to_thread(self.store.stop)

    async def _flush_logs(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            try:
                self.logs.flush()
            except OSError:
                log.exception("could not flush logs")
