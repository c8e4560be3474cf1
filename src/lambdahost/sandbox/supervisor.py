"""The supervisor of a Runtime-API environment: runs inside the env, stdlib only.

A generic environment assigned a function whose runtime speaks the Lambda Runtime
API (``provided.*`` bootstraps, Node.js, awslambdaric behind a bootstrap) becomes this
supervisor instead of importing a handler (``runtime.py`` hands over on ``ASSIGN`` with
an ``exec`` section). It finishes the environment's set-up: /tmp sized, the code dir
read-only, the layers at ``/opt``, ``/bin/sh`` as bash for ``provided`` runtimes (as on
Amazon Linux), ``sandbox.localdomain`` in ``/etc/hosts``. Then it starts the external
extensions found in ``/opt/extensions``, waits for the manager's ``GO`` (sent once they
registered), starts the runtime and reports every exit of its children until the
manager kills the environment. Frames (``protocol.py``): it sends ``INIT_ERROR``,
``SPAWNED`` and ``EXITED``; it obeys ``GO`` and ``SIGNAL``. Everything else (the
Runtime API itself, timeouts, results) lives on the platform side (``exec_env.py``).

Children are started with fork + exec, each dying with the supervisor
(PR_SET_PDEATHSIG). They share the env's session and process group, its memory
cgroup, mount namespace and log file (stdout/stderr). The supervisor is a child
subreaper, so daemonised grandchildren are reaped here as well.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import time
from typing import TYPE_CHECKING, Any, NoReturn

from lambdahost.sandbox import linux, protocol

if TYPE_CHECKING:
    from lambdahost.sandbox.runtime import Environment

ENTRYPOINT_ERROR = "Runtime.InvalidEntrypoint"
# Variables Lambda does not give to extensions.
_NOT_FOR_EXTENSIONS = (
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
)


class _InitFailure(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def _go_style(path: str, err: OSError) -> str:
    """``fork/exec <path>: permission denied``: Lambda (written in Go) words it so."""
    text = os.strerror(err.errno) if err.errno else str(err)
    return f"fork/exec {path}: {text[:1].lower()}{text[1:]}"


def _noop(signum: int, frame: object) -> None:
    """SIGCHLD handler: its only job is to make Python write to the wakeup fd."""


class Supervisor:
    def __init__(self, env: Environment, meta: dict[str, Any]) -> None:
        self.env = env
        self.meta = meta
        self.spec: dict[str, Any] = dict(meta["exec"])
        self.decoder = protocol.FrameDecoder()
        self.children: dict[int, tuple[str, str]] = {}  # pid -> (role, name)
        self.runtime_pid = 0
        self.go = False
        self.t0 = time.perf_counter()
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, _noop)
        with contextlib.suppress(OSError):
            linux.prctl(linux.PR_SET_CHILD_SUBREAPER, 1)

    # -- frames -------------------------------------------------------------------------------
    def send(self, ftype: int, meta: object, *parts: bytes) -> None:
        self.env.chan.sendall(protocol.encode(ftype, json.dumps(meta).encode(), *parts))

    def fail_init(self, error_type: str, message: str) -> NoReturn:
        init_ms = (time.perf_counter() - self.t0) * 1000.0
        body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
        self.send(protocol.T_INIT_ERROR, [error_type, init_ms, self.env.peak_bytes()], body, b"")
        self.serve()  # the manager kills the environment

    # -- set-up ---------------------------------------------------------------------------------
    def prepare(self) -> tuple[list[str], dict[str, str], str]:
        """Mounts, working directory and environment; returns (argv, environ, opt dir)."""
        meta, cfg = self.meta, self.env.cfg
        code_dir = str(meta["code_dir"])
        ns = cfg.get("tmp") == "ns"
        if ns:
            eph = int(meta.get("eph", 512))
            if eph != int(cfg.get("eph", 512)):
                linux.resize_tmpfs("/tmp", eph)
            self.env.bind_code(code_dir)
        opt = "/opt"
        if meta.get("opt"):
            opt = linux.mount_opt(self.env.host_path(str(meta["opt"])), ns)
            if opt != "/opt":
                opt = str(meta["opt"])
        if ns and self.spec.get("bash_sh"):
            self._bash_as_sh()
        hosts = self.spec.get("hosts")
        if ns and hosts:
            with contextlib.suppress(OSError):
                linux.bind_file(self.env.host_path(str(hosts)), "/etc/hosts")
        try:
            os.chdir(code_dir)
        except OSError as e:
            raise _InitFailure(ENTRYPOINT_ERROR, _go_style(code_dir, e)) from e
        environ: dict[str, str] = dict(meta["environ"])
        tmpdir = cfg.get("tmpdir")
        if tmpdir:
            environ["TMPDIR"] = str(tmpdir)
        if meta.get("opt"):
            linux.rewrite_opt(environ, opt)
        argv = [str(a) for a in self.spec.get("argv") or ()]
        if not argv:
            candidates = [
                opt + c[4:] if c.startswith("/opt/") else str(c)
                for c in self.spec.get("bootstrap") or ()
            ]
            found = next((c for c in candidates if os.path.lexists(c)), None)
            if found is None:
                raise _InitFailure(
                    ENTRYPOINT_ERROR,
                    "Couldn't find valid bootstrap(s): [" + " ".join(candidates) + "]",
                )
            argv = [found]
        return argv, environ, opt

    @staticmethod
    def _bash_as_sh() -> None:
        """Amazon Linux's /bin/sh is bash; Debian's is dash (no ``pipefail``, no ``source``)."""
        sh = os.path.realpath("/bin/sh")
        bash = os.path.realpath("/bin/bash")
        if os.path.basename(sh) != "bash" and os.path.exists(bash):
            with contextlib.suppress(OSError):
                linux.bind_file(bash, sh)

    # -- children -------------------------------------------------------------------------------
    def spawn(self, argv: list[str], environ: dict[str, str], role: str, name: str) -> int:
        """fork + exec ``argv``; raise the exec's OSError in the parent if it failed."""
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child until exec
            try:
                os.close(r)
                linux.set_pdeathsig(signal.SIGKILL)
                for sig in (
                    signal.SIGPIPE,
                    signal.SIGXFSZ,
                    signal.SIGCHLD,
                    signal.SIGINT,
                    signal.SIGTERM,
                ):
                    signal.signal(sig, signal.SIG_DFL)
                signal.set_wakeup_fd(-1)
                os.execve(argv[0], argv, environ)
            except OSError as e:
                with contextlib.suppress(OSError):
                    os.write(w, str(e.errno or 0).encode())
            finally:
                os._exit(127)
        os.close(w)
        try:
            data = os.read(r, 16)
        finally:
            os.close(r)
        if data:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            errno = int(data)
            raise OSError(errno, os.strerror(errno))
        self.children[pid] = (role, name)
        return pid

    def start_extensions(self, opt: str, environ: dict[str, str]) -> list[str]:
        folder = os.path.join(opt, "extensions")
        try:
            names = sorted(n for n in os.listdir(folder) if os.path.isfile(os.path.join(folder, n)))
        except OSError:
            return []
        ext_env = {k: v for k, v in environ.items() if k not in _NOT_FOR_EXTENSIONS}
        started: list[str] = []
        for name in names:
            path = os.path.join(folder, name)
            try:
                self.spawn([path], ext_env, "extension", name)
            except OSError as e:
                raise _InitFailure("Extension.LaunchError", _go_style(path, e)) from e
            started.append(name)
        return started

    # -- main -----------------------------------------------------------------------------------
    def run(self) -> NoReturn:
        try:
            argv, environ, opt = self.prepare()
            extensions = self.start_extensions(opt, environ)
            if extensions:
                self.send(protocol.T_SPAWNED, [extensions])
                while not self.go:
                    self.step()
            try:
                self.runtime_pid = self.spawn(argv, environ, "runtime", os.path.basename(argv[0]))
            except OSError as e:
                raise _InitFailure(ENTRYPOINT_ERROR, _go_style(argv[0], e)) from e
        except _InitFailure as e:
            self.fail_init(e.error_type, e.message)
        self.serve()

    def serve(self) -> NoReturn:
        while True:
            self.step()

    def step(self) -> None:
        poller = select.poll()
        chan = self.env.chan.fileno()
        poller.register(chan, select.POLLIN)
        poller.register(self.wake_r, select.POLLIN)
        for fd, _ in poller.poll():
            if fd == self.wake_r:
                with contextlib.suppress(OSError):
                    while os.read(self.wake_r, 512):
                        pass
                self.reap()
            else:
                self.on_channel()

    def on_channel(self) -> None:
        try:
            data = self.env.chan.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.shutdown()
        for ftype, parts in self.decoder.feed(data):
            if ftype == protocol.T_GO:
                self.go = True
            elif ftype == protocol.T_SIGNAL:
                target, signum = json.loads(parts[0])
                self.signal(str(target), int(signum))

    def signal(self, target: str, signum: int) -> None:
        for pid, (role, _) in list(self.children.items()):
            if target == "all" or role == target:
                with contextlib.suppress(OSError):
                    os.kill(pid, signum)

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            known = self.children.pop(pid, None)
            if known is not None:
                self.send(protocol.T_EXITED, [known[0], known[1], status])

    def shutdown(self) -> NoReturn:
        """The manager went away or closed the channel: take every child down with us."""
        for pid in list(self.children):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        os._exit(0)


def run(env: Environment, meta: dict[str, Any]) -> NoReturn:
    """Become the supervisor of the runtime described by ``meta["exec"]``."""
    Supervisor(env, meta).run()
