"""Invocation use cases: synchronous invoke, DryRun, and the durable Event path.

``InvokeService.invoke_sync`` resolves the qualifier, assigns an execution
environment through the sandbox manager, writes the invocation's log
(START/END/REPORT around what the function printed) and returns what the API
sends back. ``accept_event`` stores an Event invocation durably (group commit)
before the caller answers 202; ``lambdahost.app.events`` runs stored events.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import platform
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lambdahost.app.functions import FunctionService, Resolved
from lambdahost.app.logs import LogStore
from lambdahost.app.storethread import StoreThread
from lambdahost.core import logformat, snapstart
from lambdahost.core.clock import Clock
from lambdahost.core.concurrency import ConcurrencyLedger
from lambdahost.core.config import log_group
from lambdahost.core.environ import EnvironmentContext, build_environ
from lambdahost.core.managed_instances import config_vcpus, lmi_config
from lambdahost.core.shapes import runtime_version_hash
from lambdahost.errors import ApiError, too_many_requests
from lambdahost.runtimes import (
    RuntimeKind,
    RuntimeUnavailable,
    find_node,
    kind_of,
    launch_for,
    node_path_entries,
)
from lambdahost.sandbox import CapacityError, EnvironmentManager, EnvSpec, InvokeRequest, Outcome
from lambdahost.sandbox.results import AFTER_RESTORE_ERROR

if TYPE_CHECKING:
    from lambdahost.layers.service import LayerService

log = logging.getLogger("lambdahost.invoke")
CAPACITY_REASON = "ConcurrentInvocationLimitExceeded"
PLATFORM_PYTHON = "python{}.{}".format(*platform.python_version_tuple()[:2])


@dataclass(frozen=True)
class InvokeReply:
    request_id: str
    payload: bytes
    function_error: str | None
    executed_version: str
    log_tail_b64: str | None
    streamed: bool = False  # the payload went out through ``on_chunk`` already


@dataclass(frozen=True)
class PlatformIdentity:
    region: str
    endpoint: str
    access_key_id: str
    secret_access_key: str


class InvokeService:
    def __init__(
        self,
        ledger: ConcurrencyLedger,
        functions: FunctionService,
        manager: EnvironmentManager,
        logs: LogStore,
        store: StoreThread,
        identity: PlatformIdentity,
        clock: Clock,
        rng: random.Random | None = None,
        *,
        layers: LayerService | None = None,
    ) -> None:
        self.ledger = ledger
        self.functions = functions
        self.manager = manager
        self.logs = logs
        self.store = store
        self.identity = identity
        self.clock = clock
        self.rng = rng or random.Random()
        self._specs: dict[str, EnvSpec] = {}
        self.events_ready = asyncio.Event()
        self.layers = layers
        self.node: str | None = find_node()
        self.node_version: str | None = None
        # Managed Instances admission (the platform sets InstanceGate.admit): raises 429 when
        # the version's environments are full, else returns the release of its slot.
        self.admit: Callable[[Resolved], Awaitable[Callable[[], None]]] = _admit_all

    def forget(self, key_prefix: str) -> None:
        """Drop cached specs and idle environments of a changed function."""
        for key in [k for k in self._specs if k.startswith(key_prefix)]:
            del self._specs[key]
        self.manager.discard(key_prefix)

    async def resolve(self, name: str, qualifier: str | None) -> Resolved:
        return await self.functions.resolve(name, qualifier, self.rng.random())

    async def spec_for(self, resolved: Resolved, init_type: str = "on-demand") -> EnvSpec:
        """The environment spec of a resolved version (cached for on-demand inits)."""
        row = resolved.row
        key = f"{row.function_name}:{row.version}:{row.revision_id}"
        spec = self._specs.get(key) if init_type in ("on-demand", "snap-start") else None
        if spec is not None:
            return spec
        config = row.config
        snap_start = snapstart.enabled(config, row.version)
        if snap_start:
            init_type = "snap-start"  # environments restore from the version's snapshot
        code_dir = await self.functions.code_dir(config["CodeSha256"])
        logging_config = config.get("LoggingConfig") or {}
        ctx = EnvironmentContext(
            function_name=row.function_name,
            version=row.version,
            handler=config["Handler"],
            runtime=config["Runtime"],
            memory_mb=int(config["MemorySize"]),
            region=self.identity.region,
            log_group=log_group(row.function_name, config),
            code_dir=code_dir,
            access_key_id=self.identity.access_key_id,
            secret_access_key=self.identity.secret_access_key,
            endpoint_url=self.identity.endpoint,
            log_format=logging_config.get("LogFormat", "Text"),
            log_level=logging_config.get("ApplicationLogLevel"),
            init_type=init_type,
        )
        customer = (config.get("Environment") or {}).get("Variables") or {}
        environ = build_environ(ctx, customer, self.clock.time())
        if snap_start:  # as AWS documents: not set in SnapStart functions
            environ.pop("AWS_LAMBDA_LOG_GROUP_NAME", None)
            environ.pop("AWS_LAMBDA_LOG_STREAM_NAME", None)
        layers = config.get("Layers") or []
        opt_dir = await self.layers.opt_dir(layers) if self.layers is not None and layers else None
        try:
            launch = launch_for(
                config["Runtime"], code_dir, self.node, opt_dir, _max_concurrency(config)
            )
        except RuntimeUnavailable as e:
            raise ApiError("InvalidRuntimeException", str(e), 502, message_key="Message") from None
        if kind_of(config["Runtime"]) is RuntimeKind.NODE:
            if self.node_version is None and self.node is not None:
                self.node_version = await _node_version(self.node)
            environ.setdefault("NODE_PATH", f"{node_path_entries(config['Runtime'])}:{code_dir}")
        spec = EnvSpec(
            key=key,
            function_name=row.function_name,
            version=row.version,
            code_dir=code_dir,
            handler=config["Handler"],
            runtime=config["Runtime"],
            memory_mb=int(config["MemorySize"]),
            timeout_s=int(config["Timeout"]),
            ephemeral_mb=int((config.get("EphemeralStorage") or {}).get("Size", 512)),
            environ=environ,
            init_type=init_type,
            launch=launch,
            opt_dir=opt_dir,
            max_concurrency=_max_concurrency(config),
            # Runtime-API environments (Python with external extensions) are not snapshotted:
            # they initialise on demand (SnapStartService says so in the function's log).
            snap_start=snap_start and launch is None,
            cpu_limit=float(config_vcpus(config)) if lmi_config(config) is not None else None,
        )
        if init_type in ("on-demand", "snap-start"):
            self._specs[key] = spec
        return spec

    async def invoke_sync(
        self,
        resolved: Resolved,
        payload: bytes,
        *,
        request_id: str | None = None,
        client_context: str | None = None,
        tail: bool = False,
        on_chunk: Callable[[bytes], None] | None = None,
    ) -> InvokeReply:
        snapstart.check_invocable(resolved.row.config, resolved.row.version)
        spec = await self.spec_for(resolved)
        request_id = request_id or str(uuid.uuid4())
        function = spec.function_name
        release_instance = await self.admit(resolved)
        reason = self.ledger.try_acquire(function)
        if reason is not None:
            release_instance()
            raise too_many_requests(reason)
        try:
            result = await self.manager.invoke(
                spec,
                InvokeRequest(
                    request_id=request_id,
                    payload=payload,
                    invoked_function_arn=resolved.invoked_arn,
                    client_context=client_context,
                    trace_id=_trace_id(self.rng, self.clock.time()),
                    on_chunk=on_chunk,
                ),
            )
        except CapacityError:
            # No environment could be had, even after evicting idle ones: Lambda throttles.
            self.ledger.counters_for(function).throttles += 1
            raise too_many_requests(CAPACITY_REASON) from None
        finally:
            self.ledger.release(function)
            release_instance()
        counters = self.ledger.counters_for(function)
        counters.cold_starts += result.cold_start
        counters.restores += result.restore_duration_ms is not None
        counters.errors += result.outcome is not Outcome.SUCCESS
        status = None
        if result.outcome is Outcome.TIMEOUT:
            status = "timeout"
        elif result.outcome in (Outcome.CRASH, Outcome.INIT_ERROR):
            status = "error"
        report = logformat.InvocationReport(
            request_id=request_id,
            version=resolved.executed_version,
            duration_ms=result.duration_ms,
            memory_size_mb=spec.memory_mb,
            max_memory_used_mb=result.max_memory_used_mb,
            init_duration_ms=result.init_duration_ms,
            status=status,
            error_type=result.error_type if status == "error" else None,
            restore_duration_ms=result.restore_duration_ms,
            billed_restore_ms=result.billed_restore_ms,
        )
        init_lines = (
            _init_lines(spec, self.identity.region, self.node_version) if result.cold_start else ""
        )
        if result.restore_duration_ms is not None:  # SnapStart: a restore, not an init
            restore = "RESTORE_START" + init_lines.removeprefix("INIT_START")
            restore += logformat.restore_report_line(result.restore_duration_ms)
            if result.init_duration_ms is not None:  # the snapshot had to be made first
                restore = (
                    init_lines + logformat.init_report_line(result.init_duration_ms) + restore
                )
            init_lines = restore
        text = logformat.invocation_log(report, result.log, init_lines)
        self.logs.append(spec.function_name, text)
        if result.error_type == AFTER_RESTORE_ERROR:
            raise snapstart.after_restore_error()
        function_error = None if result.outcome is Outcome.SUCCESS else "Unhandled"
        tail_b64 = base64.b64encode(logformat.tail(text)).decode() if tail else None
        return InvokeReply(
            request_id,
            result.payload,
            function_error,
            resolved.executed_version,
            tail_b64,
            result.streamed,
        )

    async def accept_event(
        self,
        request_id: str,
        name: str,
        qualifier: str | None,
        payload: bytes,
        client_context: str | None,
    ) -> None:
        """Durably store an Event invocation (returns once it is committed)."""
        await self.store.enqueue_event(
            request_id, name, qualifier, payload, client_context, self.clock.time()
        )
        self.events_ready.set()


async def _admit_all(resolved: Resolved) -> Callable[[], None]:
    return lambda: None


def _max_concurrency(config: dict[str, Any]) -> int:
    """Managed Instances: invocations one environment serves at once."""
    cp = (config.get("CapacityProviderConfig") or {}).get(
        "LambdaManagedInstancesCapacityProviderConfig"
    ) or {}
    try:
        return max(1, int(cp.get("PerExecutionEnvironmentMaxConcurrency") or 1))
    except (TypeError, ValueError):
        return 1


async def _node_version(node: str) -> str:
    try:
        proc = await asyncio.create_subprocess_exec(
            node, "--version", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 10)
    except (OSError, TimeoutError):
        return "unknown"
    return out.decode().strip() or "unknown"


def init_start_line(runtime: str, region: str) -> str:
    arn = f"arn:aws:lambda:{region}::runtime:{runtime_version_hash(runtime)}"
    return f"INIT_START Runtime Version: {runtime}.lambdahost\tRuntime Version ARN: {arn}\n"


def _init_lines(spec: EnvSpec, region: str, node_version: str | None = None) -> str:
    line = init_start_line(spec.runtime, region)
    kind = kind_of(spec.runtime)
    if kind is RuntimeKind.NODE and node_version is not None:
        version = node_version
        if not version.startswith("v" + spec.runtime.removeprefix("nodejs").split(".")[0] + "."):
            line += (
                f"lambdahost: the function declares {spec.runtime}; it runs on this host's "
                f"node ({version})\n"
            )
        return line
    if kind is not RuntimeKind.PYTHON:
        return line
    if spec.runtime != PLATFORM_PYTHON:
        line += (
            f"lambdahost: the function declares {spec.runtime}; it runs on this host's "
            f"{PLATFORM_PYTHON} ({platform.python_version()})\n"
        )
    return line


def _trace_id(rng: random.Random, now: float) -> str:
    return f"Root=1-{int(now):08x}-{rng.getrandbits(96):024x};Parent={rng.getrandbits(64):016x};Sampled=0"
