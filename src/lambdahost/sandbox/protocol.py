"""Length-prefixed frames between the manager and one environment (pure, stdlib only).

This module is imported by the zygote and by every environment, so it must stay
tiny and free of I/O. A frame is::

    u32 length     big-endian; number of bytes after this field
    u8  type       one of the ``T_*`` constants below
    u8  nparts     number of byte parts
    u32 * nparts   length of each part
    parts          concatenated

Part 0 is always a small JSON "meta" document; other parts are raw bytes (the event
payload, the result body, log text) so they are never re-escaped.

Manager -> env:  ``ASSIGN(meta)``, ``INVOKE(meta, payload)``.
Env -> manager:  ``READY(meta, log)``, ``INIT_ERROR(meta, body, log)``,
``RESULT(meta, body, log)``. The manager reads the log of an env that died
mid-request straight from the env's log file (see ``runtime.py``).

Runtime-API environments (``supervisor.py``) use ``ASSIGN`` and ``INIT_ERROR`` too, and:
env -> manager ``SPAWNED([names])`` (external extensions started; wait for ``GO``),
``EXITED([role, name, wait status])``; manager -> env ``GO()`` (start the runtime),
``SIGNAL([target, signum])`` (target ``runtime``, ``extensions`` or ``all``).

SnapStart (``snapshot.py``): manager -> env ``SNAPSHOT()`` after a successful init; env ->
manager ``SNAPPED([hooks_ms, log_pos], log)`` carrying, as SCM_RIGHTS, one end of the
``SOCK_SEQPACKET`` socket on which the env now serves fork requests as a template (or
``INIT_ERROR`` when a before-snapshot hook failed). A restored env answers its first
``INVOKE`` with ``READY([restore_ms, log_pos], log)`` before the ``RESULT``.
"""

from __future__ import annotations

import struct

T_ASSIGN = 1
T_INVOKE = 2
T_READY = 3
T_INIT_ERROR = 4
T_RESULT = 5
T_SPAWNED = 6
T_GO = 7
T_EXITED = 8
T_SIGNAL = 9
T_SNAPSHOT = 10
T_SNAPPED = 11

_HEAD = struct.Struct(">IBB")
_LEN = struct.Struct(">I")
HEADER_SIZE = _HEAD.size  # 6
MAX_FRAME = 64 << 20  # far above Lambda's 6 MiB payload limit; guards against garbage


class ProtocolError(ValueError):
    """A malformed frame (bad length or part table)."""


Frame = tuple[int, tuple[bytes, ...]]


def encode(ftype: int, *parts: bytes) -> bytes:
    """Encode one frame of ``ftype`` carrying ``parts``."""
    n = len(parts)
    if n > 255 or not 0 <= ftype <= 255:
        raise ProtocolError("too many parts or bad type")
    lengths = [len(p) for p in parts]
    body_len = 2 + 4 * n + sum(lengths)
    return b"".join((_HEAD.pack(body_len, ftype, n), struct.pack(f">{n}I", *lengths), *parts))


def _parse_body(ftype: int, nparts: int, buf: bytes | bytearray, pos: int, end: int) -> Frame:
    table_end = pos + 4 * nparts
    if table_end > end:
        raise ProtocolError("part table exceeds frame")
    lengths = struct.unpack_from(f">{nparts}I", buf, pos)
    if table_end + sum(lengths) != end:
        raise ProtocolError("part lengths do not add up to the frame length")
    parts = []
    p = table_end
    for ln in lengths:
        parts.append(bytes(buf[p : p + ln]))
        p += ln
    return ftype, tuple(parts)


class FrameDecoder:
    """Incremental decoder: ``feed`` bytes as they arrive, get whole frames back."""

    __slots__ = ("_buf", "_max")

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._buf = bytearray()
        self._max = max_frame

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        if self._buf:
            self._buf += data
            buf: bytes | bytearray = self._buf
        else:
            buf = data if isinstance(data, bytes | bytearray) else bytes(data)
        frames: list[Frame] = []
        pos = 0
        total = len(buf)
        while total - pos >= HEADER_SIZE:
            body_len, ftype, nparts = _HEAD.unpack_from(buf, pos)
            if body_len < 2 or body_len > self._max:
                raise ProtocolError(f"bad frame length {body_len}")
            end = pos + 4 + body_len
            if end > total:
                break
            frames.append(_parse_body(ftype, nparts, buf, pos + HEADER_SIZE, end))
            pos = end
        if buf is self._buf:
            del self._buf[:pos]
        elif pos < total:
            self._buf += buf[pos:]
        return frames

    def needed(self) -> int:
        """Bytes still missing for the frame being received (0 if unknown or none)."""
        if len(self._buf) < 4:
            return 0
        body_len: int = _LEN.unpack_from(self._buf, 0)[0]
        return max(0, 4 + body_len - len(self._buf))
