"""The platform side of a Runtime-API environment: one ``ExecSession`` per environment.

A session attaches to a generic environment (``env.Env``) when it is assigned a
function with a ``Launch``: it opens the environment's own Runtime API server
(``rapi/server.py``), sends ``ASSIGN`` with an ``exec`` section (the env becomes a
``supervisor.py``), and from then on owns the environment's invocations:

- *Init* ends when the runtime first calls ``/next`` and every extension has asked
  for its first event. It fails on ``/runtime/init/error`` (the posted error), on a
  missing or non-executable bootstrap (``Runtime.InvalidEntrypoint``), on the runtime
  exiting (``Runtime.ExitError``), an extension dying (``Extension.Crash``), or after
  ``init_timeout_s`` (``Sandbox.Timedout``).
- *Invocations* are queued for ``/next``; each is timed from its delivery (the
  function timeout) or, before that, from its start. The first ``/response`` or
  ``/error`` for its request id settles it; a streamed response is forwarded chunk by
  chunk to ``InvokeRequest.on_chunk``.
- *Bad behaviour* of the runtime (an unknown request id, a malformed error document,
  an invalid response mode) is answered as Lambda does and dooms the environment:
  the manager replaces it once the current invocations are over.
- *Shutdown* (``shutdown``) gives registered extensions Lambda's shutdown phase:
  SIGTERM to the runtime, a SHUTDOWN event, up to ``grace_s`` before SIGKILL.

Init, supervisor frames, shutdown and death are in the base class (``exec_phases.py``);
this module handles invocations. Known gap: the runtime's and the extensions' output
share the environment's log file, so extension output shows up as function logs.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lambdahost.sandbox import protocol, results
from lambdahost.sandbox.exec_phases import SessionPhases
from lambdahost.sandbox.rapi.server import RESPONSE_LIMIT, RuntimeApiServer
from lambdahost.sandbox.rapi.state import PendingEvent
from lambdahost.sandbox.types import EnvSpec, EnvState, InvokeRequest, InvokeResult, Outcome

if TYPE_CHECKING:
    from lambdahost.sandbox.env import Env

_MIB = 1 << 20
_LOG_ROTATE = 8 << 20
STREAM_LIMIT = 200 * _MIB  # Lambda's streamed-response limit (raised from 20 MB in 2025)


@dataclass
class Call:
    request: InvokeRequest
    future: asyncio.Future[InvokeResult]
    cold: bool
    t_start: float
    t_deliver: float | None = None
    timer: asyncio.TimerHandle | None = None
    buffer: bytearray = field(default_factory=bytearray)
    streamed: bool = False
    overflow: int = 0


class ExecSession(SessionPhases):
    def __init__(
        self,
        env: Env,
        spec: EnvSpec,
        init_timeout_s: float,
        hosts_file: str | None,
        region: str = "",
    ) -> None:
        self.env = env
        self.spec = spec
        self.loop = env.loop
        self.init_timeout_s = init_timeout_s
        self.hosts_file = hosts_file
        self.server = RuntimeApiServer(self, self.loop, spec.max_concurrency)
        self.calls: dict[str, Call] = {}
        self.held: list[Call] = []  # started before init ended; pushed when it does
        self.spawned: list[str] = []  # external extensions the supervisor started
        self.ext_alive: set[str] = set()
        self.go_sent = False
        self.init_done = False
        self.init_ms: float | None = None
        self.t_assign = 0.0
        self._init_timer: asyncio.TimerHandle | None = None
        self._init_waiter: asyncio.Future[str | None] | None = None
        self._quiet_cbs: list[Callable[[], None]] = []
        self._reports: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self.notes: list[str] = []
        self.runtime_exited = False
        self.shutting_down = False
        self.closed = False

    # -- views ------------------------------------------------------------------------------------
    @property
    def busy(self) -> int:
        return len(self.calls)

    def has_extensions(self) -> bool:
        return bool(self.server.extensions.by_id) or bool(self.spawned)

    # -- start ------------------------------------------------------------------------------------
    async def assign(self, meta: dict[str, Any]) -> None:
        """Open the Runtime API and send ``ASSIGN`` (the init phase starts)."""
        address = await self.server.start()
        launch = self.spec.launch
        assert launch is not None
        environ = dict(meta["environ"])
        environ["AWS_LAMBDA_RUNTIME_API"] = address
        if self.spec.max_concurrency > 1:  # Lambda Managed Instances mode
            environ["AWS_LAMBDA_MAX_CONCURRENCY"] = str(self.spec.max_concurrency)
            if environ.get("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand") == "on-demand":
                environ["AWS_LAMBDA_INITIALIZATION_TYPE"] = "lambda-managed-instances"
        meta = dict(
            meta,
            environ=environ,
            exec={
                "argv": list(launch.argv),
                "bootstrap": list(launch.bootstrap),
                "bash_sh": launch.bash_sh,
                "hosts": self.hosts_file,
            },
        )
        self.env.lifecycle.move(EnvState.INITIALIZING)
        self.env.spec = self.spec
        self.env.key = self.spec.key
        self.t_assign = time.perf_counter()
        self._init_timer = self.loop.call_later(self.init_timeout_s, self._on_init_timeout)
        self.server.telemetry.emit(
            "platform.initStart",
            {
                "initializationType": self.spec.init_type,
                "phase": "init",
                "runtimeVersion": self.spec.runtime,
                "functionName": self.spec.function_name,
                "functionVersion": self.spec.version,
            },
        )
        self.env._send(protocol.encode(protocol.T_ASSIGN, json.dumps(meta).encode()))

    def start_init(self) -> asyncio.Future[str | None]:
        """Provisioned concurrency: resolves with None once ready, or a failure reason."""
        self._init_waiter = self.loop.create_future()
        return self._init_waiter

    # -- invocations ------------------------------------------------------------------------------
    def invoke(self, request: InvokeRequest, cold: bool) -> asyncio.Future[InvokeResult]:
        fut: asyncio.Future[InvokeResult] = self.loop.create_future()
        call = Call(request, fut, cold, time.perf_counter())
        self.calls[request.request_id] = call
        env = self.env
        if env.state is EnvState.IDLE:
            env.lifecycle.move(EnvState.INVOKING)
        env.thaw()
        if self.init_done:
            self._push(call)
        else:
            self.held.append(call)
        return fut

    def _push(self, call: Call) -> None:
        req = call.request
        headers = [
            ("Lambda-Runtime-Aws-Request-Id", req.request_id),
            ("Lambda-Runtime-Invoked-Function-Arn", req.invoked_function_arn),
        ]
        if req.trace_id:
            headers.append(("Lambda-Runtime-Trace-Id", req.trace_id))
        if req.client_context:
            headers.append(("Lambda-Runtime-Client-Context", req.client_context))
        timeout_s = float(self.spec.timeout_s)
        call.timer = self.loop.call_later(timeout_s, self._on_call_timeout, req.request_id)
        self.server.push(
            PendingEvent(
                req.request_id, req.payload or b"{}", tuple(headers), int(timeout_s * 1000)
            )
        )

    # -- rapi.server.Owner ------------------------------------------------------------------------
    def on_next(self) -> None:
        self._check_init()

    def on_extensions_changed(self) -> None:
        ext = self.server.extensions
        if not self.go_sent and self.spawned and len(ext.by_id) >= len(self.spawned):
            self.go_sent = True
            self.env._send(protocol.encode(protocol.T_GO, b"[]"))
        self._check_init()
        self._check_quiet()

    def on_delivered(self, event: PendingEvent, deadline_ms: int) -> None:
        call = self.calls.get(event.request_id)
        if call is None:
            return
        call.t_deliver = time.perf_counter()
        if call.timer is not None:
            call.timer.cancel()
        call.timer = self.loop.call_later(
            float(self.spec.timeout_s), self._on_call_timeout, event.request_id
        )
        req = call.request
        self.server.telemetry.emit(
            "platform.start", {"requestId": req.request_id, "version": self.spec.version}
        )
        if self.server.extensions.subscribers("INVOKE"):
            tracing = {"type": "X-Amzn-Trace-Id", "value": req.trace_id or ""}
            self.server.broadcast(
                "INVOKE",
                {
                    "eventType": "INVOKE",
                    "deadlineMs": deadline_ms,
                    "requestId": req.request_id,
                    "invokedFunctionArn": req.invoked_function_arn,
                    "tracing": tracing,
                },
            )

    def on_response(self, request_id: str, body: bytes, content_type: str | None) -> None:
        self._finish(request_id, Outcome.SUCCESS, body, None)

    def on_error(self, request_id: str, payload: bytes, error_type: str) -> None:
        if error_type in ("Runtime.Unknown", "Runtime.InvalidResponseModeHeader"):
            self.env.doomed = True
        self._finish(request_id, Outcome.FUNCTION_ERROR, payload, error_type)

    def on_init_error(self, payload: bytes, error_type: str) -> None:
        self._fail_init(Outcome.INIT_ERROR, error_type, lambda rid: (payload, ""))

    def on_stream_chunk(self, request_id: str, chunk: bytes) -> None:
        call = self.calls.get(request_id)
        if call is None:
            return
        sink = call.request.on_chunk
        if sink is not None:
            call.streamed = True
            call.overflow += len(chunk)
            if call.overflow <= STREAM_LIMIT:
                sink(chunk)
        elif len(call.buffer) + len(chunk) <= RESPONSE_LIMIT:
            call.buffer += chunk
        else:
            call.overflow = len(call.buffer) + len(chunk)

    def on_stream_end(self, request_id: str, error: tuple[str, str] | None) -> None:
        call = self.calls.get(request_id)
        if call is None:
            return
        if error is not None:
            error_type, message = error
            body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
            self._finish(request_id, Outcome.FUNCTION_ERROR, body, error_type)
        elif call.overflow and call.request.on_chunk is None:
            self.on_error(
                request_id,
                json.dumps(
                    {
                        "errorType": "Function.ResponseSizeTooLarge",
                        "errorMessage": f"Response payload size ({call.overflow} bytes) exceeded maximum "
                        f"allowed payload size ({RESPONSE_LIMIT} bytes).",
                    }
                ).encode(),
                "Function.ResponseSizeTooLarge",
            )
        else:
            self._finish(request_id, Outcome.SUCCESS, bytes(call.buffer), None)

    def on_violation(self, request_id: str | None, message: str) -> None:
        self.env.doomed = True
        self.notes.append(f"lambdahost: {message}; the environment will be replaced\n")

    def on_extension_error(self, name: str, phase: str, error_type: str) -> None:
        self.notes.append(f"EXTENSION\tName: {name}\tState: Error\tError Type: {error_type}\n")
        if phase == "init" and not self.init_done:
            self._fail_init(
                Outcome.INIT_ERROR,
                error_type,
                lambda rid: results.platform_error(
                    rid, error_type, f"Extension {name} failed its init"
                ),
            )
        else:
            self.env.doomed = True

    def registration_info(self) -> dict[str, str]:
        env = self.spec.environ
        return {
            "functionName": self.spec.function_name,
            "functionVersion": self.spec.version,
            "handler": self.spec.handler,
            "accountId": env.get("AWS_LAMBDA_ACCOUNT_ID", "123456789012"),
        }

    # -- completion -------------------------------------------------------------------------------
    def _finish(
        self, request_id: str, outcome: Outcome, payload: bytes, error_type: str | None
    ) -> None:
        call = self.calls.get(request_id)
        if call is None:
            return
        t0 = call.t_deliver if call.t_deliver is not None else call.t_start
        duration = (time.perf_counter() - t0) * 1000.0
        self._settle(call, outcome, payload, error_type, "", duration_ms=duration)

    def _settle(
        self,
        call: Call,
        outcome: Outcome,
        payload: bytes,
        error_type: str | None,
        extra_log: str,
        duration_ms: float,
    ) -> None:
        rid = call.request.request_id
        self.calls.pop(rid, None)
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None
        if call.future.done():
            return
        log = self.env._read_tail() + "".join(self.notes) + extra_log
        self.notes.clear()
        self.env.rotate_log(_LOG_ROTATE)
        peak = self.env._peak_mb()
        tel = self.server.telemetry
        tel.function_log(log)
        status = {
            Outcome.SUCCESS: "success",
            Outcome.FUNCTION_ERROR: "error",
            Outcome.TIMEOUT: "timeout",
        }.get(outcome, "failure")
        tel.emit(
            "platform.runtimeDone",
            {
                "requestId": rid,
                "status": status,
                "metrics": {"durationMs": round(duration_ms, 3), "producedBytes": len(payload)},
            },
        )
        metrics: dict[str, Any] = {
            "durationMs": round(duration_ms, 3),
            "billedDurationMs": int(-(-duration_ms // 1)),
            "memorySizeMB": self.spec.memory_mb,
            "maxMemoryUsedMB": peak,
        }
        if call.cold and self.init_ms is not None:
            metrics["initDurationMs"] = round(self.init_ms, 3)
        self._reports.append({"requestId": rid, "status": status, "metrics": metrics})
        call.future.set_result(
            InvokeResult(
                outcome,
                payload,
                error_type,
                results.tail(log, self.env.max_log),
                duration_ms,
                self.init_ms if call.cold else None,
                peak,
                call.cold,
                streamed=call.streamed,
            )
        )
        self._check_quiet()

    def _on_call_timeout(self, request_id: str) -> None:
        call = self.calls.get(request_id)
        if call is None:
            return
        call.timer = None
        self.server.withdraw(request_id)
        self.env.doomed = True
        self.signal("runtime", signal.SIGKILL)
        timeout = self.spec.timeout_s
        self._settle(
            call,
            Outcome.TIMEOUT,
            results.timeout_payload(request_id, timeout),
            results.TIMEOUT_ERROR,
            results.timeout_log_line(time.time(), request_id, float(timeout)),
            duration_ms=float(timeout) * 1000.0,
        )

    def _fail_all(self, status: int | None) -> None:
        for call in [*self.held, *self.calls.values()]:
            rid = call.request.request_id
            payload, lines = results.platform_error(
                rid, results.EXIT_ERROR, results.runtime_exit_message(rid, status)
            )
            t0 = call.t_deliver if call.t_deliver is not None else call.t_start
            self._settle(
                call,
                Outcome.CRASH,
                payload,
                results.EXIT_ERROR,
                lines,
                duration_ms=(time.perf_counter() - t0) * 1000.0,
            )
        self.held = []

    # -- quiet (every INVOKE subscriber is done) --------------------------------------------------
    def when_quiet(self, callback: Callable[[], None]) -> None:
        self._quiet_cbs.append(callback)
        self._check_quiet()

    def _check_quiet(self) -> None:
        if self.calls and self.spec.max_concurrency == 1:
            return
        if not self.server.extensions.quiet() and not self.closed:
            return
        reports, self._reports = self._reports, []
        for report in reports:
            self.server.telemetry.emit("platform.report", report)
        callbacks, self._quiet_cbs = self._quiet_cbs, []
        for callback in callbacks:
            callback()

    def close(self) -> None:
        """The environment died: stop serving, settle whatever is left."""
        if self.closed:
            return
        if self.calls or self.held:
            self._fail_all(None)
        self.closed = True
        self._changed.set()
        if self._init_timer is not None:
            self._init_timer.cancel()
        if self._init_waiter is not None and not self._init_waiter.done():
            self._init_waiter.set_result("The environment exited during init")
        self.server.close()
        self._check_quiet()
