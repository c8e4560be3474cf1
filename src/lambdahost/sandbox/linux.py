"""Thin ctypes wrappers for the Linux calls Python 3.11 lacks: prctl, unshare, mount.

Imported by the zygote (and so shared by every environment); stdlib only, no
policy. Every wrapper raises ``OSError`` with the C errno on failure.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
PR_SET_CHILD_SUBREAPER = 36

CLONE_NEWNS = 0x00020000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

_libc: ctypes.CDLL | None = None


def _lib() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        lib.prctl.argtypes = [
            ctypes.c_int,
            ctypes.c_ulong,
            ctypes.c_ulong,
            ctypes.c_ulong,
            ctypes.c_ulong,
        ]
        lib.unshare.argtypes = [ctypes.c_int]
        lib.mount.argtypes = [
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_ulong,
            ctypes.c_char_p,
        ]
        _libc = lib
    return _libc


def _check(rc: int) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def prctl(option: int, arg2: int = 0) -> None:
    _check(_lib().prctl(option, arg2, 0, 0, 0))


def set_pdeathsig(signum: int) -> None:
    prctl(PR_SET_PDEATHSIG, signum)


def set_name(name: str) -> None:
    """Set the thread name shown by ``ps -o comm`` / ``top`` (15 bytes at most)."""
    buf = ctypes.create_string_buffer(name.encode(errors="replace")[:15])
    _check(_lib().prctl(PR_SET_NAME, ctypes.addressof(buf), 0, 0, 0))


def unshare(flags: int) -> None:
    _check(_lib().unshare(flags))


def mount(
    source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None
) -> None:
    _check(
        _lib().mount(
            source.encode() if source is not None else None,
            target.encode(),
            fstype.encode() if fstype is not None else None,
            flags,
            data.encode() if data is not None else None,
        )
    )


def private_mount_namespace() -> None:
    """Enter a new mount namespace whose mounts do not propagate back to the host."""
    unshare(CLONE_NEWNS)
    mount(None, "/", None, MS_REC | MS_PRIVATE)


def mount_tmpfs(target: str, size_mb: int, mode: str = "1777") -> None:
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size_mb}m,mode={mode}")


def resize_tmpfs(target: str, size_mb: int) -> None:
    mount(None, target, None, MS_REMOUNT | MS_NOSUID | MS_NODEV, f"size={size_mb}m")


def bind_readonly(source: str, target: str) -> None:
    mount(source, target, None, MS_BIND | MS_REC)
    mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def bind_file(source: str, target: str, readonly: bool = True) -> None:
    """Bind one file over another (both must exist), read-only by default."""
    mount(source, target, None, MS_BIND)
    if readonly:
        mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def mount_opt(layers_dir: str, namespaces: bool) -> str:
    """Show a function's layers as ``/opt`` (read-only, in the env's mount namespace).

    Returns the path the function sees them at: ``/opt``, or ``layers_dir`` itself
    when there is no mount namespace (or no ``/opt`` to mount over); the runtimes
    then read ``LAMBDAHOST_OPT`` instead of assuming ``/opt``.
    """
    if namespaces:
        try:
            bind_readonly(layers_dir, "/opt")
            return "/opt"
        except OSError:
            pass
    return layers_dir


def rewrite_opt(environ: dict[str, str], opt: str) -> None:
    """Point ``/opt`` entries of PATH-like variables at ``opt`` (no-op for ``/opt``)."""
    if opt == "/opt":
        return
    environ["LAMBDAHOST_OPT"] = opt
    for key in ("PATH", "LD_LIBRARY_PATH", "NODE_PATH", "PYTHONPATH"):
        value = environ.get(key)
        if value:
            environ[key] = ":".join(
                opt + p[4:] if p == "/opt" or p.startswith("/opt/") else p for p in value.split(":")
            )


def roots_under_tmp(paths: list[str]) -> list[str]:
    """The outermost existing directories among ``paths`` that live under /tmp."""
    found: set[str] = set()
    for path in paths:
        if not path:
            continue
        real = os.path.realpath(path)
        if real.startswith("/tmp/") and os.path.isdir(real):
            found.add(real)
    ordered = sorted(found)
    roots: list[str] = []
    for path in ordered:
        if not any(path == r or path.startswith(r + "/") for r in roots):
            roots.append(path)
    return roots
