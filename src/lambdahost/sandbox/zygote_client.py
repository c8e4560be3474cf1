"""Manager side of the zygote: start it, send fork requests, receive its reports.

The zygote (``zygote.py``) runs as ``python -s -c BOOTSTRAP <src root> <config JSON>``
in its own session, with one end of a ``SOCK_SEQPACKET`` socketpair. Reports arrive
on the event loop through ``add_reader``; environment fds arrive with
``MSG_CMSG_CLOEXEC`` so the platform's own subprocesses never inherit them. The
zygote is spawned from the loop's thread on purpose: its PR_SET_PDEATHSIG is tied to
the thread that forked it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
from collections.abc import Callable
from typing import Any

from lambdahost.sandbox.types import SandboxError

_SRC_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# Bare package modules: neither lambdahost/__init__ nor sandbox/__init__ runs in the zygote.
BOOTSTRAP = (
    "import sys, types\n"
    "root = sys.argv[1]\n"
    "for name, sub in (('lambdahost', ''), ('lambdahost.sandbox', '/sandbox')):\n"
    "    m = types.ModuleType(name)\n"
    "    m.__path__ = [root + '/lambdahost' + sub]\n"
    "    sys.modules[name] = m\n"
    "from lambdahost.sandbox.zygote import main\n"
    "main(sys.argv[2])\n"
)


class ZygoteClient:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        python: str,
        cfg: dict[str, Any],
        on_forked: Callable[[int, int, int, int], None],
        on_fork_failed: Callable[[int, str], None],
        on_exited: Callable[[int, int, int], None],
        on_lost: Callable[[], None],
    ) -> None:
        self.loop = loop
        self.python = python
        self.cfg = cfg
        self.on_forked = on_forked
        self.on_fork_failed = on_fork_failed
        self.on_exited = on_exited
        self.on_lost = on_lost
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.hello: dict[str, Any] = {}
        self._hello_fut: asyncio.Future[dict[str, Any]] | None = None
        self._outq: list[bytes] = []
        self.closing = False

    @classmethod
    def attach(
        cls,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        on_forked: Callable[[int, int, int, int], None],
        on_fork_failed: Callable[[int, str], None],
        on_exited: Callable[[int, int, int], None],
        on_lost: Callable[[], None],
    ) -> ZygoteClient:
        """A client of a fork server that already runs (a SnapStart template), over
        ``sock``; closing it makes the server kill its children and exit."""
        client = cls(loop, "", {}, on_forked, on_fork_failed, on_exited, on_lost)
        sock.setblocking(False)
        client.sock = sock
        loop.add_reader(sock.fileno(), client._on_readable)
        return client

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    async def start(self, timeout: float = 30.0) -> dict[str, Any]:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cfg = dict(self.cfg, fd=theirs.fileno(), ppid=os.getpid())
        try:
            self.proc = subprocess.Popen(
                [self.python, "-s", "-c", BOOTSTRAP, _SRC_ROOT, json.dumps(cfg)],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            theirs.close()
        mine.setblocking(False)
        self.sock = mine
        self._hello_fut = self.loop.create_future()
        self.loop.add_reader(mine.fileno(), self._on_readable)
        try:
            self.hello = await asyncio.wait_for(self._hello_fut, timeout)
        except (TimeoutError, SandboxError):
            self.kill()
            raise SandboxError("the sandbox zygote did not start") from None
        return self.hello

    def request_fork(
        self,
        tag: int,
        cgroup: str | None,
        peak: str | None,
        tmpdir: str | None,
        extra: list[str] | None = None,
    ) -> None:
        msg = json.dumps(
            {
                "op": "fork",
                "tag": tag,
                "cg": cgroup,
                "peak": peak,
                "tmpdir": tmpdir,
                "extra": extra or [],
            }
        ).encode()
        if self._outq:
            self._outq.append(msg)
            return
        self._send(msg)

    def _send(self, msg: bytes) -> None:
        assert self.sock is not None
        try:
            self.sock.send(msg)
        except BlockingIOError:
            self._outq.append(msg)
            self.loop.add_writer(self.sock.fileno(), self._on_writable)
        except OSError:
            self._lost()

    def _on_writable(self) -> None:
        assert self.sock is not None
        while self._outq:
            try:
                self.sock.send(self._outq[0])
            except BlockingIOError:
                return
            except OSError:
                self._lost()
                return
            self._outq.pop(0)
        self.loop.remove_writer(self.sock.fileno())

    def _on_readable(self) -> None:
        sock = self.sock
        if sock is None:
            return
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(
                    sock, 65536, 4, socket.MSG_DONTWAIT | socket.MSG_CMSG_CLOEXEC
                )
            except BlockingIOError:
                return
            except OSError:
                self._lost()
                return
            if not data:
                for fd in fds:
                    os.close(fd)
                self._lost()
                return
            msg = json.loads(data)
            op = msg.get("op")
            if op == "forked" and len(fds) == 2:
                self.on_forked(int(msg["tag"]), int(msg["pid"]), fds[0], fds[1])
                continue
            for fd in fds:
                os.close(fd)
            if op == "exited":
                self.on_exited(int(msg["pid"]), int(msg["status"]), int(msg.get("maxrss_kb", 0)))
            elif op == "fork_failed":
                self.on_fork_failed(int(msg["tag"]), str(msg.get("error")))
            elif op == "hello" and self._hello_fut is not None and not self._hello_fut.done():
                self._hello_fut.set_result(msg)

    def _lost(self) -> None:
        """The control socket closed: the zygote died (or is shutting down)."""
        self._close_socket()
        if self._hello_fut is not None and not self._hello_fut.done():
            self._hello_fut.set_exception(SandboxError("zygote exited during start"))
        self.kill()
        if not self.closing:
            self.on_lost()

    def _close_socket(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(Exception):
                self.loop.remove_reader(self.sock.fileno())
            if self._outq:
                with contextlib.suppress(Exception):
                    self.loop.remove_writer(self.sock.fileno())
            self._outq.clear()
            self.sock.close()
            self.sock = None

    def close_now(self) -> None:
        """Close the control socket without waiting (the server then exits on its own)."""
        self.closing = True
        self._close_socket()

    def kill(self) -> None:
        """SIGKILL the zygote and reap it (its children die through their pdeathsig)."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                os.kill(proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                proc.wait(timeout=5)

    async def close(self, timeout: float = 5.0) -> None:
        """Close the control socket: the zygote SIGKILLs and reaps its children, exits."""
        self.closing = True
        self._close_socket()
        proc = self.proc
        if proc is None:
            return
        deadline = self.loop.time() + timeout
        while proc.poll() is None and self.loop.time() < deadline:
            await asyncio.sleep(0.005)
        self.kill()
