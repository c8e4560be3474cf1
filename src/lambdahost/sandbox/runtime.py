"""The in-environment runtime: what runs inside a forked environment process.

Loaded into the zygote (stdlib only, never platform modules) and entered by each
forked child through ``child_main``. Phases:

1. *Generic set-up* (pool side, off the request path): own session/process group,
   die with the zygote (PR_SET_PDEATHSIG), join the env's memory cgroup, private
   mount namespace with a tmpfs ``/tmp`` (or a per-env directory + ``TMPDIR``),
   stdio pointed at the env's log file.
2. *Assignment* (``ASSIGN`` frame = Lambda's INIT phase): size ``/tmp``, bind the code
   dir read-only, RLIMIT_AS when there is no memory cgroup, chdir, replace
   ``os.environ``, set ``sys.path``, configure logging, import the handler; reply
   ``READY`` or ``INIT_ERROR`` (Lambda's error types and wording).
3. *Invocations* (``INVOKE`` frames), one at a time: call the handler, JSON-encode its
   result, reply ``RESULT``.

Logs: fds 1 and 2 of the env (and of everything it starts) are one unlinked,
``O_APPEND`` file; ``sys.stdout``/``sys.stderr`` are line-buffered text streams on
them, so prints, ``logging`` records and subprocess output keep their order. After
each phase the env reads what was appended since the last read (one ``pread``) and
ships it in the reply. The manager holds a duplicate of the file's fd, so on a
timeout or crash it reads the tail itself. Output written after an invocation
returned (background threads, daemonised subprocesses) appears in the next
invocation's log. The file lives in ``<work_dir>/logs`` (``O_TMPFILE``, so nothing
to clean up) and is truncated when it grows past ``_LOG_ROTATE`` bytes.
"""

from __future__ import annotations

import contextlib
import decimal
import importlib
import json
import os
import resource
import signal
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

from lambdahost.sandbox import linux, protocol
from lambdahost.sandbox.context import (
    LambdaContext,
    RequestIdFilter,
    configure_logging,
    parse_client_context,
)

_LOG_ROTATE = 8 << 20
_NBSP = "\u00a0"
_ERR_EXIT = 70


class InitError(Exception):
    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack = stack or []


def _decimal_default(obj: object) -> object:
    if isinstance(obj, decimal.Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _write_file(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


class Environment:
    """State of one environment process (there is exactly one per process)."""

    def __init__(self, chan: socket.socket, logfd: int, cfg: dict[str, Any]) -> None:
        self.chan = chan
        self.logfd = logfd
        self.cfg = cfg
        self.log_pos = 0
        self.log_limit = 1 << 20
        self.peak_fd = -1
        self.old_tmp_fd = -1
        self.handler: Callable[[Any, Any], Any] | None = None
        self.ensure_ascii = True
        self.rlimit_mode = False
        self.assigned = False
        self.code_dir = ""
        self.eph_mb = int(cfg.get("eph", 512))
        self.restored = False  # forked from a SnapStart template (snapshot.py)

    # -- phase 1: generic set-up ------------------------------------------------------
    def setup(self, zygote_pid: int) -> None:
        os.setsid()
        linux.set_pdeathsig(signal.SIGKILL)
        if os.getppid() != zygote_pid:
            os._exit(_ERR_EXIT)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        with contextlib.suppress(OSError):
            linux.set_name("lh-env")
        cg = self.cfg.get("cg")
        if cg:
            _write_file(os.path.join(cg, "cgroup.procs"), "0")
            for extra in self.cfg.get("extra") or ():  # v1: the cpu and pids hierarchies
                _write_file(os.path.join(extra, "cgroup.procs"), "0")
            peak = self.cfg.get("peak")
            if peak:
                self.peak_fd = os.open(peak, os.O_RDONLY | os.O_CLOEXEC)
        if self.cfg.get("tmp") == "ns":
            linux.private_mount_namespace()
            self.old_tmp_fd = os.open("/tmp", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            self.private_tmp(int(self.cfg.get("eph", 512)))
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(self.logfd, 1)
        os.dup2(self.logfd, 2)
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(
            1, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False
        )
        sys.stderr = open(
            2, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False
        )

    def private_tmp(self, size_mb: int) -> None:
        """Mount a fresh tmpfs on /tmp (in this env's own mount namespace).

        An interpreter or virtualenv installed under /tmp (a CI checkout, say) must stay
        importable: it is re-exposed, read-only, at the same path inside the private /tmp.
        """
        install = linux.roots_under_tmp(
            [
                sys.prefix,
                sys.exec_prefix,
                sys.base_prefix,
                os.path.dirname(sys.executable),
                *sys.path,
            ]
        )
        linux.mount_tmpfs("/tmp", size_mb)
        for root in install:
            self.bind_code(root)

    # -- I/O helpers ----------------------------------------------------------------------
    def send(self, ftype: int, meta: object, *parts: bytes) -> None:
        self.chan.sendall(protocol.encode(ftype, json.dumps(meta).encode(), *parts))

    def drain_log(self) -> bytes:
        """Everything appended to the log file since the last call (tail-capped)."""
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        chunk = os.pread(self.logfd, 65536, self.log_pos)
        if not chunk:
            return b""
        chunks = [chunk]
        size = len(chunk)
        self.log_pos += len(chunk)
        while len(chunk) == 65536:
            chunk = os.pread(self.logfd, 1 << 20, self.log_pos)
            self.log_pos += len(chunk)
            chunks.append(chunk)
            size += len(chunk)
            while size - len(chunks[0]) > self.log_limit:
                size -= len(chunks.pop(0))
        if self.log_pos > _LOG_ROTATE:
            os.ftruncate(self.logfd, 0)
            self.log_pos = 0
        return b"".join(chunks)

    def peak_bytes(self) -> int:
        if self.peak_fd >= 0:
            with contextlib.suppress(OSError, ValueError):
                peak = int(os.pread(self.peak_fd, 32, 0))
                if not self.restored:
                    return peak
                # Restored from a SnapStart template: the initialised memory it started from
                # was charged to the template's cgroup; its RSS counts it, as Lambda would.
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
                return max(peak, rss)
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def log_error(
        self, error_type: str, message: str, stack: list[str], request_id: str = ""
    ) -> None:
        out = sys.stdout
        if os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON":
            rec = {
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "level": "ERROR",
                "message": message,
                "errorType": error_type,
                "errorMessage": message,
                "stackTrace": stack,
                "requestId": request_id,
            }
            out.write(json.dumps(rec) + "\n")
        else:
            lines = [f"[ERROR] {error_type}: {message}", "Traceback (most recent call last):"]
            for element in stack:
                for ln in element.splitlines():
                    stripped = ln.lstrip(" ")
                    lines.append(_NBSP * (len(ln) - len(stripped)) + stripped)
            out.write("\r".join(lines) + "\n")
        out.flush()

    # -- phase 2: assignment (INIT) -----------------------------------------------------------
    def assign(self, meta: dict[str, Any]) -> None:
        t0 = time.perf_counter()
        self.assigned = True
        self.log_limit = int(meta.get("log_limit", self.log_limit))
        self.ensure_ascii = bool(meta.get("ascii", True))
        with contextlib.suppress(OSError):
            linux.set_name("lh:" + str(meta.get("name", "")))
        if "exec" in meta:  # a Runtime-API runtime: become its supervisor
            from lambdahost.sandbox import supervisor  # imported here: not in the zygote

            supervisor.run(self, meta)
        try:
            self._prepare(meta)
            self.handler = self._load_handler(str(meta["handler"]))
        except InitError as e:
            self.handler = None
            init_ms = (time.perf_counter() - t0) * 1000.0
            self.log_error(e.error_type, e.message, e.stack)
            body = json.dumps(
                {
                    "errorMessage": e.message,
                    "errorType": e.error_type,
                    "requestId": "",
                    "stackTrace": e.stack,
                }
            ).encode()
            self.send(
                protocol.T_INIT_ERROR,
                [e.error_type, init_ms, self.peak_bytes()],
                body,
                self.drain_log(),
            )
            return
        init_ms = (time.perf_counter() - t0) * 1000.0
        log = self.drain_log()
        self.send(protocol.T_READY, [init_ms, self.log_pos], log)

    def _prepare(self, meta: dict[str, Any]) -> None:
        code_dir = str(meta["code_dir"])
        self.code_dir = code_dir
        mem_mb = int(meta["mem"])
        if self.cfg.get("tmp") == "ns":
            eph = int(meta.get("eph", 512))
            if eph != self.eph_mb:
                linux.resize_tmpfs("/tmp", eph)
                self.eph_mb = eph
            self.bind_code(code_dir)
        opt = "/opt"
        if meta.get("opt"):
            ns = self.cfg.get("tmp") == "ns"
            opt = linux.mount_opt(self.host_path(str(meta["opt"])), ns)
            if opt != "/opt":
                opt = str(meta["opt"])
        if meta.get("rlimit"):
            self.rlimit_mode = True
            with open("/proc/self/statm") as f:
                vsize = int(f.read().split()[0]) * resource.getpagesize()
            limit = vsize + (mem_mb + 64) * (1 << 20)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            os.chdir(code_dir)
        except OSError as e:
            raise InitError("Runtime.ImportModuleError", f"Unable to import module: {e}") from e
        environ: dict[str, str] = dict(meta["environ"])
        tmpdir = self.cfg.get("tmpdir")
        if tmpdir:
            environ["TMPDIR"] = str(tmpdir)
            tempfile.tempdir = None
        if meta.get("opt"):
            linux.rewrite_opt(environ, opt)
        os.environ.clear()
        os.environ.update(environ)
        layers = [
            f"{opt}/python",
            f"{opt}/python/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages",
        ]
        extra = [p for p in environ.get("PYTHONPATH", "").split(":") if p]
        base = [p for p in sys.path if p not in ("", ".")]
        front = [code_dir, *extra, *layers]
        sys.path[:] = list(
            dict.fromkeys([p for p in front if p == code_dir or os.path.isdir(p)] + base)
        )
        configure_logging(os.environ)

    def host_path(self, path: str) -> str:
        """A host path as reachable from inside this env's mount namespace (our private
        ``/tmp`` hides the host's, which stays reachable through ``old_tmp_fd``)."""
        real = os.path.realpath(path)
        if (real == "/tmp" or real.startswith("/tmp/")) and self.old_tmp_fd >= 0:
            return f"/proc/self/fd/{self.old_tmp_fd}/{os.path.relpath(real, '/tmp')}"
        return real

    def bind_code(self, code_dir: str) -> None:
        """Make the code dir read-only inside this env; re-expose it if it lives in /tmp."""
        real = os.path.realpath(code_dir)
        with contextlib.suppress(OSError):
            if (real == "/tmp" or real.startswith("/tmp/")) and self.old_tmp_fd >= 0:
                rel = os.path.relpath(real, "/tmp")
                os.makedirs(real, exist_ok=True)
                src = f"/proc/self/fd/{self.old_tmp_fd}/{rel}"
                linux.mount(src, real, None, linux.MS_BIND | linux.MS_REC)
                linux.mount(
                    None,
                    real,
                    None,
                    linux.MS_REMOUNT
                    | linux.MS_BIND
                    | linux.MS_RDONLY
                    | linux.MS_NOSUID
                    | linux.MS_NODEV,
                )
            else:
                linux.bind_readonly(real, real)

    def _load_handler(self, spec: str) -> Callable[[Any, Any], Any]:
        try:
            modname, fname = spec.rsplit(".", 1)
        except ValueError as e:
            raise InitError("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {e}") from e
        modname = modname.replace("/", ".")
        if modname in sys.builtin_module_names:
            raise InitError(
                "Runtime.BuiltInModuleConflict",
                f"Cannot use built-in module {modname} as a handler module",
            )
        try:
            module = importlib.import_module(modname)
        except ImportError as e:
            raise InitError(
                "Runtime.ImportModuleError", f"Unable to import module '{modname}': {e}"
            ) from e
        except SyntaxError as e:
            stack = [f'  File "{e.filename}" Line {e.lineno}\n    {(e.text or "").strip()}\n']
            raise InitError(
                "Runtime.UserCodeSyntaxError", f"Syntax error in module '{modname}': {e}", stack
            ) from e
        except Exception as e:
            raise InitError(
                "Runtime.ImportModuleError", f"Unable to import module '{modname}': {e}", stack_of(e)
            ) from e
        try:
            handler = getattr(module, fname)
        except AttributeError as e:
            raise InitError(
                "Runtime.HandlerNotFound", f"Handler '{fname}' missing on module '{modname}'"
            ) from e
        if not callable(handler):
            raise InitError(
                "Runtime.HandlerNotFound", f"Handler '{fname}' missing on module '{modname}'"
            )
        return handler  # type: ignore[no-any-return]

    # -- phase 3: invocations ---------------------------------------------------------------------
    def invoke(self, meta: list[Any], payload: bytes) -> None:
        handler = self.handler
        if handler is None:
            return  # init failed; the manager discards this env
        rid, arn, cc_text, trace_id, timeout_ms = meta
        RequestIdFilter.request_id = rid
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        t0 = time.perf_counter()
        deadline_ms = int(time.time() * 1000) + int(timeout_ms)
        ok, error_type, body = self._call(handler, rid, arn, cc_text, deadline_ms, payload)
        duration = (time.perf_counter() - t0) * 1000.0
        log = self.drain_log()
        self.send(
            protocol.T_RESULT,
            [ok, error_type, duration, self.peak_bytes(), self.log_pos],
            body,
            log,
        )

    def _error(
        self, rid: str, error_type: str, message: str, stack: list[str], log: bool = True
    ) -> tuple[bool, str, bytes]:
        if log:
            self.log_error(error_type, message, stack, rid)
        body = json.dumps(
            {
                "errorMessage": message,
                "errorType": error_type,
                "requestId": rid,
                "stackTrace": stack,
            }
        ).encode()
        return False, error_type, body

    def _call(
        self,
        handler: Callable[[Any, Any], Any],
        rid: str,
        arn: str,
        cc_text: str | None,
        deadline_ms: int,
        payload: bytes,
    ) -> tuple[bool, str | None, bytes]:
        try:
            event = json.loads(payload) if payload else {}
        except ValueError as e:
            return self._error(rid, "Runtime.UnmarshalError", f"Unable to unmarshal input: {e}", [])
        try:
            client_context = parse_client_context(cc_text)
        except ValueError as e:
            return self._error(
                rid,
                "Runtime.LambdaContextUnmarshalError",
                f"Unable to parse Client Context JSON: {e}",
                [],
            )
        context = LambdaContext(rid, arn, deadline_ms, client_context, sys.stdout.write)
        try:
            result = handler(event, context)
        except SystemExit as e:
            self._exit_during_invoke(e)
        except MemoryError:
            if self.rlimit_mode:  # RLIMIT_AS stands in for the memory cgroup: act like OOM
                os.kill(os.getpid(), signal.SIGKILL)
            raise
        except BaseException as e:
            return self._error(rid, type(e).__name__, str(e), stack_of(e))
        if isinstance(result, bytes | bytearray):
            return True, None, bytes(result)
        try:
            body = json.dumps(
                result, default=_decimal_default, ensure_ascii=self.ensure_ascii
            ).encode()
        except (TypeError, ValueError, OverflowError) as e:
            return self._error(rid, "Runtime.MarshalError", f"Unable to marshal response: {e}", [])
        return True, None, body

    def _exit_during_invoke(self, e: SystemExit) -> NoReturn:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if not isinstance(e.code, int | None):
            print(e.code, file=sys.stderr)
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)

    # -- main loop ------------------------------------------------------------------------------
    def serve(self) -> NoReturn:
        decoder = protocol.FrameDecoder()
        recv = self.chan.recv
        while True:
            data = recv(max(65536, decoder.needed()))
            if not data:
                os._exit(0)
            for ftype, parts in decoder.feed(data):
                if ftype == protocol.T_INVOKE:
                    self.invoke(json.loads(parts[0]), parts[1])
                elif ftype == protocol.T_ASSIGN and not self.assigned:
                    self.assign(json.loads(parts[0]))
                elif ftype == protocol.T_SNAPSHOT and self.handler is not None:
                    from lambdahost.sandbox import snapshot  # imported here: not in the zygote

                    snapshot.become_template(self)


def stack_of(e: BaseException) -> list[str]:
    tb = e.__traceback__
    if tb is not None and tb.tb_next is not None:
        tb = tb.tb_next  # drop the runtime's own frame (the call site of the handler)
    return traceback.format_list(traceback.extract_tb(tb))


def child_main(chan: socket.socket, logfd: int, cfg: dict[str, Any], zygote_pid: int) -> NoReturn:
    """Entry point of a freshly forked environment; never returns."""
    try:
        env = Environment(chan, logfd, cfg)
        env.setup(zygote_pid)
        env.serve()
    except BaseException:
        with contextlib.suppress(Exception):
            os.write(2, traceback.format_exc().encode())
        os._exit(_ERR_EXIT)
