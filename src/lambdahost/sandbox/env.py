"""One execution environment as the manager sees it: its channel, state and timers.

Runs on the platform's event loop. The channel is the env's end of a socketpair
received from the zygote; it is driven with ``add_reader`` and non-blocking
``send`` (one syscall each way on the warm path, no thread hops, no transports).
A request is one ``INVOKE`` frame (preceded by ``ASSIGN`` on a cold start, in the
same write); the env answers ``READY``/``INIT_ERROR`` and ``RESULT``. Exactly one
request is pending at a time; its outcome is decided by the first of: a reply, the
timer (init phase: ``init_timeout_s``, then ``timeout_s``), the env's exit (reported
by the zygote) or ``close()``. Idle environments are SIGSTOP'd (SIGCONT before the
next request). Killing = SIGKILL to the env's process group plus everything in its
memory cgroup (which catches setsid'd descendants).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lambdahost.sandbox import protocol, results
from lambdahost.sandbox.states import EnvLifecycle
from lambdahost.sandbox.types import EnvSpec, EnvState, InvokeRequest, InvokeResult, Outcome

if TYPE_CHECKING:
    from lambdahost.sandbox.cgroups import CgroupTree
    from lambdahost.sandbox.exec_env import ExecSession

_MIB = 1 << 20
_PAGE = os.sysconf("SC_PAGE_SIZE")
_META_LEN = {
    protocol.T_RESULT: 5,
    protocol.T_READY: 2,
    protocol.T_INIT_ERROR: 3,
    protocol.T_SNAPPED: 2,
}
_EXEC_META_LEN = {protocol.T_SPAWNED: 1, protocol.T_EXITED: 3, protocol.T_INIT_ERROR: 3}


@dataclass
class Reply:
    """How a pending request ended, before it becomes an ``InvokeResult``."""

    kind: str  # "result" | "ready" | "init_error" | "timeout" | "exit" | "snapped"
    meta: list[Any]
    body: bytes = b""
    log: str = ""
    status: int | None = None  # wait status for "exit"
    fd: int | None = None  # "snapped": the template's fork-server socket


class Env:
    def __init__(
        self,
        env_id: int,
        pid: int,
        sock: socket.socket,
        logfd: int,
        cgroup: str | None,
        cgtree: CgroupTree | None,
        tmpdir: str | None,
        loop: asyncio.AbstractEventLoop,
        on_dead: Callable[[Env], None],
        wall: float,
        mono: float,
    ) -> None:
        self.env_id = env_id
        self.pid = pid
        self.sock = sock
        self.fd = sock.fileno()
        self.logfd = logfd
        self.cgroup = cgroup
        self.cgtree = cgtree
        self.tmpdir = tmpdir
        self.loop = loop
        self.on_dead = on_dead
        self.lifecycle = EnvLifecycle(f"env-{env_id} (pid {pid})")
        self.decoder = protocol.FrameDecoder()
        self.spec: EnvSpec | None = None
        self.key: str | None = None
        self.created = wall
        self.last_used_wall = wall
        self.last_used = mono
        self.invocations = 0
        self.frozen = False
        self.doomed = False  # discard() hit it while busy: kill instead of reuse
        self.provisioned = False  # kept initialised ahead of demand; never reaped as idle
        self.memory_mb = 0  # MemorySize it was assigned with
        self.usage_mb = 0  # memory it really uses, sampled when it goes idle (memory budget)
        self.usage_sampled = float("-inf")  # monotonic time of that sample
        self._init_only = False
        self.log_pos = 0
        self.exit_status: int | None = None
        self.maxrss_kb = 0
        self.released: Callable[[Env, Reply], None] | None = None
        self._pending: asyncio.Future[Reply] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._outbuf = bytearray()
        self._request_id = ""
        self._t0 = 0.0
        self.init_ms: float | None = None
        self.init_log = ""
        self.max_log = 1 << 20
        self.session: ExecSession | None = None  # set for Runtime-API environments
        self.retiring = False  # in its shutdown phase: out of every pool, not yet dead
        # SnapStart: restored from a template (``restore_started``: when the fork was asked
        # for, perf_counter), and the fd a template passes along with SNAPPED.
        self.restored = False
        self.standby = False  # forked from a SnapStart template ahead of demand, unassigned
        # The template this env was restored from was made for its first request (its init
        # is then reported too): a ``SnapshotInfo``.
        self.snapshot_made: Any = None
        self.restore_started = 0.0
        self.restore_ms: float | None = None
        self._expect_fd = False
        self._fds: list[int] = []
        sock.setblocking(False)
        loop.add_reader(self.fd, self._on_readable)

    @property
    def state(self) -> EnvState:
        return self.lifecycle.state

    # -- channel ----------------------------------------------------------------------------------
    def _send(self, data: bytes) -> None:
        if self._outbuf:
            self._outbuf += data
            return
        try:
            n = self.sock.send(data)
        except BlockingIOError:
            n = 0
        except OSError:
            return  # the env is gone; its exit report settles the request
        if n < len(data):
            self._outbuf += data[n:]
            self.loop.add_writer(self.fd, self._on_writable)

    def _on_writable(self) -> None:
        try:
            n = self.sock.send(self._outbuf)
        except BlockingIOError:
            return
        except OSError:
            n = len(self._outbuf)
        del self._outbuf[:n]
        if not self._outbuf:
            self.loop.remove_writer(self.fd)

    def _on_readable(self) -> None:
        try:
            if self._expect_fd:  # only while a SNAPPED frame (with its fd) is awaited
                data, fds, _, _ = socket.recv_fds(self.sock, 262144, 1, socket.MSG_CMSG_CLOEXEC)
                self._fds.extend(fds)
            else:
                data = self.sock.recv(262144)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._on_eof()
            return
        try:
            frames = self.decoder.feed(data)
        except protocol.ProtocolError:
            self.kill()
            return
        for ftype, parts in frames:
            try:
                self._on_frame(ftype, parts)
            except (ValueError, IndexError, TypeError, KeyError):
                self.kill()  # a garbled reply: the exit report settles the request
                return

    def _on_eof(self) -> None:
        self.loop.remove_reader(self.fd)
        # The process is exiting or closed its channel: make sure it dies; the zygote's
        # exit report then settles any pending request with the real wait status.
        self._signal_all()

    def _on_frame(self, ftype: int, parts: tuple[bytes, ...]) -> None:
        meta = json.loads(parts[0])
        if self.session is not None:
            if not isinstance(meta, list) or len(meta) != _EXEC_META_LEN.get(ftype, -1):
                raise ValueError(f"unexpected frame {ftype}")
            self.session.on_frame(ftype, meta, parts)
            return
        if not isinstance(meta, list) or len(meta) != _META_LEN.get(ftype, -1):
            raise ValueError(f"unexpected frame {ftype}")
        if ftype == protocol.T_RESULT:
            self.log_pos = int(meta[4])
            self._complete(Reply("result", meta, parts[1], parts[2].decode(errors="replace")))
        elif ftype == protocol.T_SNAPPED:
            self._expect_fd = False
            fd = self._fds.pop(0) if self._fds else None
            self._complete(Reply("snapped", meta, log=parts[1].decode(errors="replace"), fd=fd))
        elif ftype == protocol.T_READY:
            if self.restored:
                self.restore_ms = (time.perf_counter() - self.restore_started) * 1000.0
            self.init_ms = float(meta[0])
            self.log_pos = int(meta[1])
            self.init_log = parts[1].decode(errors="replace")
            if self._init_only:
                self._init_only = False
                self._complete(Reply("ready", meta, log=self.init_log))
            elif self.lifecycle.state is EnvState.INITIALIZING:
                self.lifecycle.move(EnvState.INVOKING)
                assert self.spec is not None
                self._arm(float(self.spec.timeout_s))
        elif ftype == protocol.T_INIT_ERROR:
            self.init_ms = float(meta[1])
            self._complete(Reply("init_error", meta, parts[1], parts[2].decode(errors="replace")))

    # -- requests ---------------------------------------------------------------------------------
    def start_cold(
        self, spec: EnvSpec, req: InvokeRequest, assign_meta: dict[str, Any], init_timeout_s: float
    ) -> asyncio.Future[Reply]:
        self.lifecycle.move(EnvState.INITIALIZING)
        self.spec = spec
        self.key = spec.key
        frame = protocol.encode(protocol.T_ASSIGN, json.dumps(assign_meta).encode())
        return self._start(req, frame, init_timeout_s)

    def start_init(
        self, spec: EnvSpec, assign_meta: dict[str, Any], init_timeout_s: float
    ) -> asyncio.Future[Reply]:
        """Assign and initialise without a request (provisioned concurrency)."""
        self.lifecycle.move(EnvState.INITIALIZING)
        self.spec = spec
        self.key = spec.key
        self._init_only = True
        fut: asyncio.Future[Reply] = self.loop.create_future()
        self._pending = fut
        self._request_id = ""
        self._t0 = time.perf_counter()
        self._arm(init_timeout_s)
        self._send(protocol.encode(protocol.T_ASSIGN, json.dumps(assign_meta).encode()))
        return fut

    def start_snapshot(self, timeout_s: float) -> asyncio.Future[Reply]:
        """Ask an initialised env to run its before-snapshot hooks and become a template."""
        self.lifecycle.move(EnvState.TEMPLATE)
        fut: asyncio.Future[Reply] = self.loop.create_future()
        self._pending = fut
        self._request_id = ""
        self._t0 = time.perf_counter()
        self._expect_fd = True
        self._arm(timeout_s)
        self._send(protocol.encode(protocol.T_SNAPSHOT, b"[]"))
        return fut

    def start_restored(self, spec: EnvSpec, req: InvokeRequest) -> asyncio.Future[Reply]:
        """First request of an env forked from a template: READY (restore), then RESULT."""
        self.lifecycle.move(EnvState.INITIALIZING)
        self.spec = spec
        self.key = spec.key
        self.restored = True
        return self._start(req, b"", float(spec.timeout_s))

    def start_warm(self, req: InvokeRequest) -> asyncio.Future[Reply]:
        self.lifecycle.move(EnvState.INVOKING)
        if self.frozen:
            self.frozen = False
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGCONT)
        assert self.spec is not None
        return self._start(req, b"", float(self.spec.timeout_s))

    def _start(self, req: InvokeRequest, prefix: bytes, timeout: float) -> asyncio.Future[Reply]:
        assert self.spec is not None
        meta = [
            req.request_id,
            req.invoked_function_arn,
            req.client_context,
            req.trace_id,
            self.spec.timeout_s * 1000,
        ]
        fut: asyncio.Future[Reply] = self.loop.create_future()
        self._pending = fut
        self._request_id = req.request_id
        self._t0 = time.perf_counter()
        self._arm(timeout)
        self._send(
            prefix + protocol.encode(protocol.T_INVOKE, json.dumps(meta).encode(), req.payload)
        )
        return fut

    def _arm(self, seconds: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(seconds, self._on_timeout)

    def _complete(self, reply: Reply) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        fut = self._pending
        self._pending = None
        if fut is None:
            return
        if not fut.done():
            fut.set_result(reply)
        elif self.released is not None:  # the awaiting invoke() was cancelled
            self.released(self, reply)

    def _on_timeout(self) -> None:
        self._timer = None
        if self._pending is None:
            return
        self.kill()  # settles nothing itself; do it explicitly with the timeout reply
        self._complete(Reply("timeout", [self._peak_mb()], log=self._read_tail()))

    def on_exit(self, status: int, maxrss_kb: int) -> None:
        """The zygote reaped this env's process."""
        self.exit_status = status
        self.maxrss_kb = maxrss_kb
        if self.session is not None:
            self.session.on_env_exit(status)
        if self._pending is not None:
            self._complete(Reply("exit", [self._peak_mb()], log=self._read_tail(), status=status))
        self.kill()

    def abort(self) -> None:
        """Platform shutdown or zygote loss: settle a pending request as a crash."""
        if self.session is not None:
            self.session.on_env_exit(None)
        if self._pending is not None:
            self._complete(Reply("exit", [self._peak_mb()], log=self._read_tail(), status=None))
        self.kill()

    # -- results ----------------------------------------------------------------------------------
    def to_result(self, reply: Reply, cold: bool) -> InvokeResult:
        result = self._to_result(reply, cold)
        if cold and self.restored:  # SnapStart: a restore, not an init
            billed = self.init_ms if reply.kind != "init_error" else None
            made = self.snapshot_made
            return dataclasses.replace(
                result,
                init_duration_ms=None if made is None else made.init_ms,
                restore_duration_ms=self.restore_ms or result.init_duration_ms,
                billed_restore_ms=billed,
                log=result.log if made is None else made.log + result.log,
            )
        return result

    def _to_result(self, reply: Reply, cold: bool) -> InvokeResult:
        spec = self.spec
        assert spec is not None
        init_ms = self.init_ms if cold else None
        log = (self.init_log if cold else "") + reply.log
        if reply.kind == "result":
            ok, error_type, duration, peak, _ = reply.meta
            return InvokeResult(
                Outcome.SUCCESS if ok else Outcome.FUNCTION_ERROR,
                reply.body,
                error_type,
                results.tail(log, self.max_log),
                float(duration),
                init_ms,
                (int(peak) + _MIB - 1) // _MIB,
                cold,
            )
        wall_ms = (time.perf_counter() - self._t0) * 1000.0
        if reply.kind == "init_error":
            error_type, _, peak = reply.meta
            return InvokeResult(
                Outcome.INIT_ERROR,
                reply.body,
                str(error_type),
                results.tail(log, self.max_log),
                wall_ms,
                init_ms,
                (int(peak) + _MIB - 1) // _MIB,
                cold,
            )
        rid = self._request_id
        if reply.kind == "timeout":
            log += results.timeout_log_line(time.time(), rid, float(spec.timeout_s))
            return InvokeResult(
                Outcome.TIMEOUT,
                results.timeout_payload(rid, spec.timeout_s),
                results.TIMEOUT_ERROR,
                results.tail(log, self.max_log),
                float(spec.timeout_s) * 1000.0,
                init_ms,
                int(reply.meta[0]),
                cold,
            )
        log += results.exit_log_lines(rid, reply.status)
        return InvokeResult(
            Outcome.CRASH,
            results.exit_error_payload(rid, reply.status),
            results.EXIT_ERROR,
            results.tail(log, self.max_log),
            wall_ms,
            init_ms,
            int(reply.meta[0]),
            cold,
        )

    def sample_usage(self) -> int:
        """Memory the environment uses now: its cgroup's charge, else its RSS."""
        usage = 0
        if self.cgroup and self.cgtree is not None:
            usage = self.cgtree.usage_mb(self.cgroup)
        if not usage:
            with contextlib.suppress(OSError, ValueError, IndexError):
                with open(f"/proc/{self.pid}/statm") as f:
                    usage = (int(f.read().split()[1]) * _PAGE + _MIB - 1) // _MIB
        self.usage_mb = usage
        return usage

    def _peak_mb(self) -> int:
        if self.cgroup and self.cgtree is not None:
            peak = self.cgtree.peak_mb(self.cgroup)
            if peak:
                return peak
        return (self.maxrss_kb + 1023) // 1024

    def _read_tail(self) -> str:
        if self.logfd < 0:
            return ""
        chunks: list[bytes] = []
        pos = self.log_pos
        total = 0
        with contextlib.suppress(OSError):
            while True:
                chunk = os.pread(self.logfd, 1 << 20, pos)
                if not chunk:
                    break
                chunks.append(chunk)
                pos += len(chunk)
                total += len(chunk)
                while total - len(chunks[0]) > self.max_log:
                    total -= len(chunks.pop(0))
        self.log_pos = pos
        return b"".join(chunks).decode(errors="replace")

    # -- lifecycle --------------------------------------------------------------------------------
    def freeze_if_idle(self) -> None:
        if not self.frozen and self.lifecycle.state is EnvState.IDLE and not self.retiring:
            self.frozen = True
            with contextlib.suppress(OSError):
                if self.session is not None:  # the runtime and extensions too
                    os.killpg(self.pid, signal.SIGSTOP)
                else:
                    os.kill(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.frozen:
            self.frozen = False
            with contextlib.suppress(OSError):
                if self.session is not None:
                    os.killpg(self.pid, signal.SIGCONT)
                else:
                    os.kill(self.pid, signal.SIGCONT)

    def rotate_log(self, limit: int) -> None:
        """Runtime-API envs: start the log file over once it grew past ``limit``."""
        if self.log_pos > limit and self.logfd >= 0:
            with contextlib.suppress(OSError):
                os.ftruncate(self.logfd, 0)
                self.log_pos = 0

    def _signal_all(self) -> None:
        if self.exit_status is None:
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        if self.cgroup and self.cgtree is not None:
            self.cgtree.kill_all(self.cgroup)

    def kill(self) -> None:
        """Kill everything the env started and release the channel (idempotent)."""
        self._signal_all()
        if not self.lifecycle.die():
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        with contextlib.suppress(Exception):
            self.loop.remove_reader(self.fd)
        if self._outbuf:
            with contextlib.suppress(Exception):
                self.loop.remove_writer(self.fd)
        self.sock.close()
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()
        if self.session is not None:
            self.session.close()
        self.on_dead(self)

    def close_log(self) -> None:
        if self.logfd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.logfd)
            self.logfd = -1

    @property
    def busy(self) -> bool:
        return self._pending is not None or (self.session is not None and self.session.busy > 0)
