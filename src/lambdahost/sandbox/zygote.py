"""The zygote fork-server process: forks generic environments on request.

Started by the manager (``zygote_client.py``) as a separate interpreter through
its ``BOOTSTRAP`` snippet, which registers bare ``lambdahost``/``lambdahost.sandbox`` package
modules so that neither package's ``__init__`` (and so no platform module) is ever
imported here: only the stdlib and the small in-env modules (``runtime``,
``context``, ``protocol``, ``linux``). It pre-imports them, runs
``gc.collect(); gc.freeze()`` and then serves one ``SOCK_SEQPACKET`` control socket:

manager -> zygote  ``{"op": "fork", "tag": N, "cg": dir|null, "extra": [dir], "peak": path|null,
                    "tmpdir": path|null}``
zygote -> manager  ``{"op": "hello", "pid": P, "ns": bool, "errors": [...]}`` once;
                   ``{"op": "forked", "tag": N, "pid": P}`` + fds [channel, log file];
                   ``{"op": "fork_failed", "tag": N, "error": str}``;
                   ``{"op": "exited", "pid": P, "status": S, "maxrss_kb": K}``.

Each child is watched through a pidfd in the zygote's epoll set (so SIGSTOP/SIGCONT
of idle envs cause no wake-ups) and reaped with ``wait4``. The zygote dies with the
platform (PR_SET_PDEATHSIG) and, when the control socket closes, SIGKILLs and reaps
every child before exiting. Environments die with the zygote (their own pdeathsig).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import logging
import os
import select
import signal
import socket
import sys
import tempfile
import time
from typing import Any, NoReturn

from lambdahost.sandbox import linux, runtime
from lambdahost.sandbox.context import (
    LambdaJsonFormatter,
    LambdaTextFormatter,
    install_root_handler,
)

# ast/linecache/tokenize: traceback formatting imports them lazily (~2-10 ms on a first error).
_RUNTIME_MODULES = (
    "json",
    "traceback",
    "logging",
    "decimal",
    "importlib",
    "importlib.util",
    "tempfile",
    "resource",
    "socket",
    "struct",
    "ctypes",
    "contextlib",
    "ast",
    "linecache",
    "tokenize",
)


def warm_up() -> None:
    """Run the lazily-initialised paths once in the zygote (codec lookups, time zone data,
    traceback/linecache, json scanners, log formatting, the source loader), so forked
    environments share the result instead of building private copies on first use."""
    json.loads(json.dumps({"a": [1, 2.5, "x", None, True, {"b": "\u00e9"}]}, ensure_ascii=False))
    time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    with open(os.devnull, "w", buffering=1, encoding="utf-8", errors="backslashreplace") as f:
        f.write("warm\n")
    try:
        raise ValueError("warm")
    except ValueError as e:
        runtime.stack_of(e)
    record = logging.LogRecord("root", logging.WARNING, __file__, 1, "warm %s", ("x",), None)
    LambdaTextFormatter().format(record)
    LambdaJsonFormatter().format(record)
    install_root_handler()
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "_lh_warm_mod.py"), "w") as f:
            f.write("def handler(event, context):\n    return event\n")
        sys.path.insert(0, d)
        try:
            importlib.import_module("_lh_warm_mod")
        finally:
            sys.path.remove(d)
            sys.modules.pop("_lh_warm_mod", None)
            sys.path_importer_cache.pop(d, None)
            importlib.invalidate_caches()


def _probe_namespaces() -> bool:
    """Can a child get a private mount namespace with a tmpfs on /tmp?"""
    pid = os.fork()
    if pid == 0:
        try:
            linux.private_mount_namespace()
            linux.mount_tmpfs("/tmp", 1)
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def _open_log(log_dir: str) -> int:
    flags = os.O_RDWR | os.O_APPEND | os.O_CLOEXEC
    try:
        return os.open(log_dir, flags | os.O_TMPFILE, 0o600)
    except OSError:
        path = os.path.join(log_dir, f"env-{os.getpid()}-{id(flags)}-{os.urandom(4).hex()}.log")
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
        os.unlink(path)
        return fd


class Zygote:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.ctrl = socket.socket(fileno=int(cfg["fd"]))
        self.ep = select.epoll()
        self.children: dict[int, int] = {}  # pidfd -> pid
        self.pid = os.getpid()

    def send(self, msg: dict[str, Any], fds: list[int] | None = None) -> None:
        data = json.dumps(msg).encode()
        try:
            if fds:
                socket.send_fds(self.ctrl, [data], fds)
            else:
                self.ctrl.send(data)
        except OSError:
            self.shutdown()  # the platform went away

    def fork(self, req: dict[str, Any]) -> None:
        tag = req.get("tag")
        try:
            a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            logfd = _open_log(str(self.cfg["log_dir"]))
        except OSError as e:
            self.send({"op": "fork_failed", "tag": tag, "error": str(e)})
            return
        child_cfg = {
            "tmp": self.cfg.get("tmp"),
            "eph": self.cfg.get("eph", 512),
            "cg": req.get("cg"),
            "extra": req.get("extra") or [],
            "peak": req.get("peak"),
            "tmpdir": req.get("tmpdir"),
            "log_dir": self.cfg["log_dir"],
        }
        gc.freeze()
        try:
            pid = os.fork()
        except OSError as e:
            a.close()
            b.close()
            os.close(logfd)
            self.send({"op": "fork_failed", "tag": tag, "error": str(e)})
            return
        if pid == 0:
            self._in_child(a, b, logfd, child_cfg)
        b.close()
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            pidfd = -1
        if pidfd >= 0:
            self.children[pidfd] = pid
            self.ep.register(pidfd, select.EPOLLIN)
        try:
            self.send({"op": "forked", "tag": tag, "pid": pid}, [a.fileno(), logfd])
        finally:
            a.close()
            os.close(logfd)

    def _in_child(
        self, a: socket.socket, b: socket.socket, logfd: int, child_cfg: dict[str, Any]
    ) -> NoReturn:
        try:
            self.ep.close()
            self.ctrl.close()
            a.close()
            for pidfd in self.children:
                os.close(pidfd)
            self.children.clear()
            self.child_main(b, logfd, child_cfg)
        finally:
            os._exit(70)

    def child_main(self, chan: socket.socket, logfd: int, child_cfg: dict[str, Any]) -> None:
        """What a forked child runs (a new generic environment); never returns."""
        runtime.child_main(chan, logfd, child_cfg, self.pid)

    def reap(self, pidfd: int) -> None:
        pid = self.children.pop(pidfd, None)
        with contextlib.suppress(OSError):
            self.ep.unregister(pidfd)
        os.close(pidfd)
        if pid is None:
            return
        try:
            wpid, status, ru = os.wait4(pid, 0)
        except ChildProcessError:
            return
        self.send({"op": "exited", "pid": wpid, "status": status, "maxrss_kb": ru.ru_maxrss})

    def shutdown(self) -> NoReturn:
        pids = list(self.children.values())
        for pid in pids:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for pid in pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        os._exit(0)

    def serve(self) -> NoReturn:
        ctrl_fd = self.ctrl.fileno()
        self.ep.register(ctrl_fd, select.EPOLLIN)
        while True:
            try:
                events = self.ep.poll()
            except InterruptedError:
                continue
            for fd, _ in events:
                if fd != ctrl_fd:
                    self.reap(fd)
                    continue
                while True:
                    try:
                        data = self.ctrl.recv(65536, socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        break
                    except OSError:
                        self.shutdown()
                    if not data:
                        self.shutdown()
                    req = json.loads(data)
                    if req.get("op") == "fork":
                        self.fork(req)


def main(cfg_text: str) -> None:
    cfg: dict[str, Any] = json.loads(cfg_text)
    linux.set_pdeathsig(signal.SIGKILL)
    if os.getppid() != int(cfg["ppid"]):
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        linux.set_name("lh-zygote")
    errors: list[str] = []
    for name in (*_RUNTIME_MODULES, *cfg.get("preload", ())):
        try:
            importlib.import_module(name)
        except Exception as e:
            errors.append(f"{name}: {e}")
    try:
        warm_up()
    except Exception as e:
        errors.append(f"warm-up: {e}")
    if cfg.get("pycache"):
        sys.pycache_prefix = str(cfg["pycache"])
    zygote = Zygote(cfg)
    ns = False
    if cfg.get("tmp") in ("ns", "auto"):
        ns = _probe_namespaces()
        zygote.cfg["tmp"] = "ns" if ns else "dir"
    gc.collect()
    gc.freeze()
    zygote.send({"op": "hello", "pid": zygote.pid, "ns": ns, "errors": errors})
    zygote.serve()
