"""Value types of the sandbox: what callers pass in and what they get back.

Frozen dataclasses and enums only, no I/O. ``EnvSpec``/``InvokeRequest`` go into
``EnvironmentManager.invoke``; ``InvokeResult`` comes out; ``EnvInfo`` describes live
environments for listings; ``SandboxSettings`` configures the manager. The state
machine of one environment lives in ``states.py``; the manager in ``manager.py``.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lambdahost.core.clock import Clock, SystemClock
from lambdahost.errors import PlatformError


@dataclass(frozen=True)
class Launch:
    """How a Runtime-API environment starts its runtime (absent: the built-in Python runtime).

    ``argv`` is the command to exec; empty means "the function's ``bootstrap``": the
    first of ``bootstrap`` that exists (``<code>/bootstrap``, then ``/opt/bootstrap``).
    ``bash_sh`` makes ``/bin/sh`` bash inside the environment (Amazon Linux's shell),
    so shell bootstraps written for ``provided.al2023`` run unmodified.
    """

    kind: str  # "provided" | "node"
    argv: tuple[str, ...] = ()
    bootstrap: tuple[str, ...] = ()
    bash_sh: bool = False


@dataclass(frozen=True)
class EnvSpec:
    """One immutable function configuration; environments are reused only per ``key``."""

    key: str
    function_name: str
    version: str
    code_dir: str
    handler: str
    runtime: str
    memory_mb: int
    timeout_s: int
    ephemeral_mb: int
    environ: Mapping[str, str]
    init_type: str = "on-demand"
    launch: Launch | None = None  # None: the built-in fast Python runtime
    opt_dir: str | None = None  # the function's layers, extracted in order; seen as /opt
    max_concurrency: int = 1  # invocations one environment serves at once (Runtime API only)
    snap_start: bool = False  # SnapStart: new environments are restored from a template
    cpu_limit: float | None = None  # vCPUs an environment may use at most (Managed Instances)


@dataclass(frozen=True)
class InvokeRequest:
    """One invocation: the payload is JSON text already validated by the API."""

    request_id: str
    payload: bytes
    invoked_function_arn: str
    client_context: str | None = None
    trace_id: str | None = None
    # Streamed responses (InvokeWithResponseStream): called with each chunk as the runtime
    # sends it. Runtimes that do not stream answer with a whole payload instead.
    on_chunk: Callable[[bytes], None] | None = field(default=None, compare=False)


class Outcome(enum.Enum):
    SUCCESS = "success"
    FUNCTION_ERROR = "function_error"
    INIT_ERROR = "init_error"
    TIMEOUT = "timeout"
    CRASH = "crash"


@dataclass(frozen=True)
class InvokeResult:
    outcome: Outcome
    payload: bytes
    error_type: str | None
    log: str
    duration_ms: float
    init_duration_ms: float | None
    max_memory_used_mb: int
    cold_start: bool
    streamed: bool = False  # the payload went out through ``InvokeRequest.on_chunk``
    # SnapStart: a cold start restored from a snapshot reports these instead of init.
    restore_duration_ms: float | None = None  # fork request to READY, as the manager saw it
    billed_restore_ms: float | None = None  # the part run inside the env (after-restore hooks)


class EnvState(enum.Enum):
    """Lifecycle of one execution environment (transitions in ``states.py``)."""

    GENERIC = "generic"  # pre-forked, sandbox set up, no function code loaded
    INITIALIZING = "initializing"  # assigned to a function, importing the handler
    INVOKING = "invoking"  # running one invocation
    IDLE = "idle"  # warm, frozen between invocations
    TEMPLATE = "template"  # SnapStart: initialised once, forks restored environments
    DEAD = "dead"  # killed or exited; terminal


@dataclass(frozen=True)
class EnvInfo:
    key: str | None  # None for generic (pre-forked, unassigned) environments
    pid: int
    state: EnvState
    created: float  # wall-clock epoch seconds
    last_used: float  # wall-clock epoch seconds
    invocations: int


@dataclass(frozen=True)
class SandboxSettings:
    """Configuration of an ``EnvironmentManager``; read once, passed down."""

    work_dir: str
    idle_timeout_s: float = 600.0
    max_environments: int = 1000
    memory_budget_mb: int | None = None  # memory environments really use; None: no budget
    pool_size: int = 3
    python: str = sys.executable
    use_cgroups: bool | None = None  # None: auto-detect (writable memory cgroup)
    use_namespaces: bool | None = None  # None: auto-detect (mount namespace + tmpfs)
    sweep_interval_s: float | None = None  # None: min(idle_timeout_s / 4, 5 s)
    init_timeout_s: float = 10.0  # Lambda's on-demand init phase limit
    freeze_idle: bool = True  # SIGSTOP idle environments, SIGCONT before each request
    preload_modules: tuple[str, ...] = ()  # extra modules the zygote imports (e.g. "boto3")
    max_log_bytes: int = 1 << 20  # log text returned per invocation (tail kept)
    shutdown_grace_s: float = 2.0  # Runtime-API envs: SIGTERM/SHUTDOWN before SIGKILL
    clock: Clock = field(default_factory=SystemClock)


class SandboxError(PlatformError):
    """A platform-side failure of the sandbox (never caused by function code)."""


class CapacityError(SandboxError):
    """``max_environments`` are all busy; no idle one could be evicted."""
