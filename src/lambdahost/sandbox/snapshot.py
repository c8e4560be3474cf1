"""SnapStart inside environments: the template process and the environments restored from it.

Runs in environment processes (stdlib only; imported on first use, never by the zygote).

*Snapshot.* An environment that initialised a published version with
``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`` receives ``SNAPSHOT``: it runs the
before-snapshot hooks registered with ``snapshot_restore_py`` (last registered first, as
Lambda's Python runtime does), answers ``SNAPPED`` and from then on is a *template*: instead
of serving invocations it serves fork requests on a ``SOCK_SEQPACKET`` socket, speaking the
zygote's protocol (``zygote.py``: ``fork`` -> ``forked`` + fds, ``exited``). The fork of an
initialised process is our snapshot: every restored environment starts from the memory the
template had after its init, without running init again.

*Restore.* Each forked child becomes a new environment: its own session, death signal, memory
cgroup, mount namespace with a fresh tmpfs ``/tmp`` holding a copy of what init left there
(or its own ``TMPDIR``), log file and channel. Then it waits for its first request (the
manager keeps one such child forked ahead per template, because joining a memory cgroup can
take ~10 ms on an idle host); with the request, randomness is re-seeded, the after-restore
hooks run (in registration order), it answers ``READY`` with the time that took, and serves
invocations like any other environment.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import random
import shutil
import signal
import socket
import stat
import sys
import tempfile
import time
import traceback
from typing import TYPE_CHECKING, Any, NoReturn

from lambdahost.sandbox import linux, protocol
from lambdahost.sandbox.results import AFTER_RESTORE_ERROR, BEFORE_SNAPSHOT_ERROR
from lambdahost.sandbox.zygote import Zygote

if TYPE_CHECKING:
    from lambdahost.sandbox.runtime import Environment

_HOOKS_MODULE = "snapshot_restore_py"
_ERR_EXIT = 70


def _hooks(getter: str) -> list[Any]:
    """The registry behind ``snapshot_restore_py.<getter>()`` (empty if never imported)."""
    module = sys.modules.get(_HOOKS_MODULE)
    if module is None:
        return []
    registry = getattr(module, getter, None)
    return list(registry()) if callable(registry) else []


def run_before_snapshot() -> None:
    """Before-snapshot hooks, the last registered first; each entry is (func, args, kwargs)."""
    for func, args, kwargs in reversed(_hooks("get_before_snapshot")):
        func(*args, **kwargs)


def run_after_restore() -> None:
    """After-restore hooks, in the order they were registered."""
    for func, args, kwargs in _hooks("get_after_restore"):
        func(*args, **kwargs)


def reseed() -> None:
    """Restored environments must not share random state: draw fresh seeds from the OS."""
    random.seed()
    np_random = sys.modules.get("numpy.random")
    if np_random is not None:
        with contextlib.suppress(Exception):
            np_random.seed()


def _error_body(error_type: str, e: BaseException) -> tuple[str, list[str], bytes]:
    message = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    stack = traceback.format_list(traceback.extract_tb(e.__traceback__))
    body = json.dumps(
        {"errorMessage": message, "errorType": error_type, "requestId": "", "stackTrace": stack}
    ).encode()
    return message, stack, body


def _send_with_fd(chan: socket.socket, frame: bytes, fd: int) -> None:
    sent = socket.send_fds(chan, [frame], [fd])
    if sent < len(frame):
        chan.sendall(frame[sent:])


def become_template(env: Environment) -> NoReturn:
    """Run the before-snapshot hooks, then serve fork requests forever."""
    t0 = time.perf_counter()
    try:
        run_before_snapshot()
    except BaseException as e:
        message, stack, body = _error_body(BEFORE_SNAPSHOT_ERROR, e)
        env.log_error(BEFORE_SNAPSHOT_ERROR, message, stack)
        hooks_ms = (time.perf_counter() - t0) * 1000.0
        env.send(
            protocol.T_INIT_ERROR,
            [BEFORE_SNAPSHOT_ERROR, hooks_ms, env.peak_bytes()],
            body,
            env.drain_log(),
        )
        os._exit(64)
    hooks_ms = (time.perf_counter() - t0) * 1000.0
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    log = env.drain_log()
    frame = protocol.encode(protocol.T_SNAPPED, json.dumps([hooks_ms, env.log_pos]).encode(), log)
    _send_with_fd(env.chan, frame, theirs.fileno())
    theirs.close()
    with contextlib.suppress(OSError):
        linux.set_name("lh-snapshot")
    server = TemplateServer(
        env,
        {
            "fd": mine.detach(),
            "log_dir": env.host_path(str(env.cfg["log_dir"])),
            "tmp": env.cfg.get("tmp"),
            "eph": env.eph_mb,
        },
    )
    gc.collect()
    gc.freeze()
    server.serve()


class TemplateServer(Zygote):
    """The zygote's fork server, forking restored environments of one version."""

    def __init__(self, env: Environment, cfg: dict[str, Any]) -> None:
        super().__init__(cfg)
        self.env = env

    def child_main(self, chan: socket.socket, logfd: int, child_cfg: dict[str, Any]) -> None:
        restored_main(self.env, chan, logfd, child_cfg, self.pid)


def _join_cgroup(env: Environment, cfg: dict[str, Any]) -> None:
    cg = cfg.get("cg")
    if not cg:
        return
    for group in (cg, *(cfg.get("extra") or ())):
        if not group:
            continue
        fd = os.open(os.path.join(str(group), "cgroup.procs"), os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)
    if env.peak_fd >= 0:
        os.close(env.peak_fd)
        env.peak_fd = -1
    peak = cfg.get("peak")
    if peak:
        env.peak_fd = os.open(str(peak), os.O_RDONLY | os.O_CLOEXEC)


def copy_tree(src: str, dst: str) -> None:
    """Copy what lies in ``src`` into ``dst``, staying on ``src``'s file system (so the
    read-only bind mounts under a template's /tmp are not copied)."""
    dev = os.stat(src).st_dev
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        target = dst if rel == "." else os.path.join(dst, rel)
        subdirs = []
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            out = os.path.join(target, name)
            if st.st_dev != dev:
                continue  # a mount point: not part of what init wrote
            if stat.S_ISDIR(st.st_mode):
                os.makedirs(out, mode=stat.S_IMODE(st.st_mode), exist_ok=True)
                subdirs.append(name)
            elif os.path.lexists(out):
                continue
            elif stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(path), out)
            elif stat.S_ISREG(st.st_mode):
                shutil.copy2(path, out)
        dirnames[:] = subdirs


def _private_tmp(env: Environment, cfg: dict[str, Any]) -> None:
    if cfg.get("tmp") == "ns":
        template_tmp = os.open("/tmp", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            linux.private_mount_namespace()
            env.private_tmp(env.eph_mb)
            if env.code_dir:
                env.bind_code(env.code_dir)
            copy_tree(f"/proc/self/fd/{template_tmp}", "/tmp")
        finally:
            os.close(template_tmp)
        return
    tmpdir = cfg.get("tmpdir")
    if tmpdir:
        old = os.environ.get("TMPDIR")
        os.environ["TMPDIR"] = str(tmpdir)
        tempfile.tempdir = None
        if old and os.path.isdir(old):
            copy_tree(old, str(tmpdir))


def restored_main(
    env: Environment, chan: socket.socket, logfd: int, cfg: dict[str, Any], template_pid: int
) -> NoReturn:
    """Entry point of an environment forked from a template; never returns.

    Set-up that does not depend on the request (session, cgroup, /tmp, log) happens at
    once; the restore proper (re-seeding, after-restore hooks) when the first request
    arrives, so a child forked ahead of demand (a standby) restores at invoke time.
    """
    try:
        os.setsid()
        linux.set_pdeathsig(signal.SIGKILL)
        if os.getppid() != template_pid:
            os._exit(_ERR_EXIT)
        env.chan.close()
        env.chan = chan
        env.restored = True
        _join_cgroup(env, cfg)
        _private_tmp(env, cfg)
        os.dup2(logfd, 1)
        os.dup2(logfd, 2)
        os.close(env.logfd)
        env.logfd = logfd
        env.log_pos = 0
        with contextlib.suppress(OSError):
            linux.set_name("lh:restored")
        decoder = protocol.FrameDecoder()
        frames: list[protocol.Frame] = []
        while not frames:
            data = chan.recv(max(65536, decoder.needed()))
            if not data:
                os._exit(0)
            frames = decoder.feed(data)
        t0 = time.perf_counter()
        reseed()
        try:
            run_after_restore()
        except BaseException as e:
            message, stack, body = _error_body(AFTER_RESTORE_ERROR, e)
            env.log_error(AFTER_RESTORE_ERROR, message, stack)
            env.handler = None
            env.send(
                protocol.T_INIT_ERROR,
                [AFTER_RESTORE_ERROR, (time.perf_counter() - t0) * 1000.0, env.peak_bytes()],
                body,
                env.drain_log(),
            )
            env.serve()
        restore_ms = (time.perf_counter() - t0) * 1000.0
        env.send(protocol.T_READY, [restore_ms, env.log_pos], env.drain_log())
        for ftype, parts in frames:
            if ftype == protocol.T_INVOKE:
                env.invoke(json.loads(parts[0]), parts[1])
        env.serve()
    except BaseException:
        with contextlib.suppress(Exception):
            os.write(2, traceback.format_exc().encode())
        os._exit(_ERR_EXIT)
