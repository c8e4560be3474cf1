"""The phases of a Runtime-API environment's session that are not about one invocation.

Base class of ``exec_env.ExecSession``: frames from the supervisor (extensions
started, children exited, set-up failures), the init phase (when it ends, how it fails),
Lambda's shutdown phase and the environment's death. Invocation handling (queueing,
completion, streaming, quiet) stays in ``exec_env.py``.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lambdahost.sandbox import protocol, results
from lambdahost.sandbox.types import EnvSpec, EnvState, Outcome

if TYPE_CHECKING:
    from lambdahost.sandbox.env import Env
    from lambdahost.sandbox.exec_env import Call
    from lambdahost.sandbox.rapi.server import RuntimeApiServer


class SessionPhases:
    env: Env
    spec: EnvSpec
    loop: asyncio.AbstractEventLoop
    server: RuntimeApiServer
    init_timeout_s: float
    calls: dict[str, Call]
    held: list[Call]
    spawned: list[str]
    ext_alive: set[str]
    init_done: bool
    init_ms: float | None
    t_assign: float
    runtime_exited: bool
    shutting_down: bool
    closed: bool
    _init_timer: asyncio.TimerHandle | None
    _init_waiter: asyncio.Future[str | None] | None
    _changed: asyncio.Event

    if TYPE_CHECKING:  # provided by the class that mixes this in

        def on_extensions_changed(self) -> None: ...

        def _push(self, call: Call) -> None: ...

        def _check_quiet(self) -> None: ...

        def _fail_all(self, status: int | None) -> None: ...

        def _settle(
            self,
            call: Call,
            outcome: Outcome,
            payload: bytes,
            error_type: str | None,
            extra_log: str,
            duration_ms: float,
        ) -> None: ...

    # -- frames from the supervisor ---------------------------------------------------------------
    def on_frame(self, ftype: int, meta: Any, parts: tuple[bytes, ...]) -> None:
        if ftype == protocol.T_SPAWNED:
            self.spawned = [str(n) for n in meta[0]]
            self.ext_alive = set(self.spawned)
            self.server.extensions.external = set(self.spawned)
            self.on_extensions_changed()
        elif ftype == protocol.T_EXITED:
            role, name, status = str(meta[0]), str(meta[1]), int(meta[2])
            self._changed.set()
            if role == "runtime":
                self._runtime_exit(status)
            else:
                self.ext_alive.discard(name)
                self.server.extensions.exited(name)
                if not self.init_done and not self.shutting_down:
                    self._fail_init(
                        Outcome.INIT_ERROR,
                        "Extension.Crash",
                        lambda rid: results.platform_error(
                            rid,
                            "Extension.Crash",
                            f"Extension {name} exited "
                            "during init: " + results.describe_wait_status(status),
                        ),
                    )
                elif not self.shutting_down:
                    self.env.doomed = True
                    self._check_quiet()
        elif ftype == protocol.T_INIT_ERROR:
            error_type = str(meta[0])
            doc = json.loads(parts[1])
            message = str(doc.get("errorMessage", ""))
            self._fail_init(
                Outcome.INIT_ERROR,
                error_type,
                lambda rid: results.platform_error(rid, error_type, message),
            )

    def _runtime_exit(self, status: int) -> None:
        self.runtime_exited = True
        if self.shutting_down:
            return
        if not self.init_done:
            self._fail_init(
                Outcome.CRASH,
                results.EXIT_ERROR,
                lambda rid: results.platform_error(
                    rid, results.EXIT_ERROR, results.runtime_exit_message(rid, status)
                ),
            )
        else:
            self._fail_all(status)
        self.env.kill()

    # -- init -------------------------------------------------------------------------------------
    def _check_init(self) -> None:
        if self.init_done or self.closed:
            return
        if not self.server.table.ready:
            return
        if self.spawned and not self.server.extensions.started(len(self.spawned)):
            return
        self.init_done = True
        self.init_ms = (time.perf_counter() - self.t_assign) * 1000.0
        if self._init_timer is not None:
            self._init_timer.cancel()
            self._init_timer = None
        self.server.extensions.close()
        tel = self.server.telemetry
        init_type = self.spec.init_type
        tel.emit(
            "platform.initRuntimeDone",
            {"initializationType": init_type, "phase": "init", "status": "success"},
        )
        tel.emit(
            "platform.initReport",
            {
                "initializationType": init_type,
                "phase": "init",
                "status": "success",
                "metrics": {"durationMs": round(self.init_ms, 3)},
            },
        )
        tel.end_init()
        if self.env.state is EnvState.INITIALIZING:
            self.env.lifecycle.move(EnvState.INVOKING if self.held else EnvState.IDLE)
        held, self.held = self.held, []
        for call in held:
            self._push(call)
        if self._init_waiter is not None and not self._init_waiter.done():
            self._init_waiter.set_result(None)

    def _on_init_timeout(self) -> None:
        self._init_timer = None
        if self.init_done:
            return
        timeout = self.init_timeout_s
        self._fail_init(
            Outcome.TIMEOUT,
            results.TIMEOUT_ERROR,
            lambda rid: (
                results.timeout_payload(rid, timeout),
                results.timeout_log_line(time.time(), rid, timeout),
            ),
        )

    def _fail_init(
        self, outcome: Outcome, error_type: str, build: Callable[[str], tuple[bytes, str]]
    ) -> None:
        if self.init_done and outcome is not Outcome.INIT_ERROR:
            return
        self.init_done = True  # nothing more happens in this environment
        if self._init_timer is not None:
            self._init_timer.cancel()
            self._init_timer = None
        init_ms = (time.perf_counter() - self.t_assign) * 1000.0
        self.init_ms = init_ms
        if self._init_waiter is not None and not self._init_waiter.done():
            payload, _ = build("")
            self._init_waiter.set_result(results.init_error_reason(payload))
        for call in [*self.held, *self.calls.values()]:
            payload, lines = build(call.request.request_id)
            self._settle(call, outcome, payload, error_type, lines, duration_ms=init_ms)
        self.held = []
        self.env.doomed = True
        self.env.kill()

    # -- shutdown ---------------------------------------------------------------------------------
    def signal(self, target: str, signum: int) -> None:
        self.env._send(protocol.encode(protocol.T_SIGNAL, json.dumps([target, signum]).encode()))

    def needs_shutdown_phase(self) -> bool:
        return bool(self.server.extensions.by_id) and not self.closed

    async def shutdown(self, reason: str, grace_s: float) -> None:
        """Lambda's shutdown phase, then the environment is killed."""
        self.shutting_down = True
        self.env.thaw()
        loop_time = self.loop.time
        deadline = loop_time() + grace_s
        deadline_ms = int((time.time() + grace_s) * 1000)
        try:
            await self.server.telemetry.flush(timeout=min(0.5, grace_s / 4))
            if not self.runtime_exited:
                self.signal("runtime", signal.SIGTERM if reason == "spindown" else signal.SIGKILL)
                await self._wait(lambda: self.runtime_exited, min(deadline, loop_time() + 0.5))
            self.server.broadcast(
                "SHUTDOWN",
                {"eventType": "SHUTDOWN", "shutdownReason": reason, "deadlineMs": deadline_ms},
            )
            await self._wait(lambda: not self.ext_alive, deadline)
        finally:
            self.env.kill()

    async def _wait(self, done: Callable[[], bool], deadline: float) -> None:
        while not done() and not self.closed:
            remaining = deadline - self.loop.time()
            if remaining <= 0:
                return
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return

    # -- death ------------------------------------------------------------------------------------
    def on_env_exit(self, status: int | None) -> None:
        """The supervisor (the environment's process) is gone: everything pending crashed."""
        if not self.init_done:
            self._fail_init(
                Outcome.CRASH,
                results.EXIT_ERROR,
                lambda rid: results.platform_error(
                    rid, results.EXIT_ERROR, results.exit_error_message(rid, status)
                ),
            )
        self._fail_all(status)
