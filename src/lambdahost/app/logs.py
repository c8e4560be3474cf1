"""Per-function logs on local disk: START/END/REPORT and what the function printed.

Each function has one append-only file, ``<logs>/<function>.log``. Writes are
buffered and flushed by ``flush()`` (called periodically by the server), so
the invoke path never waits on the disk for logs. Readers page by byte offset,
which is what ``lambdahost logs --follow`` polls.

Rotation: when a function's file would grow past ``max_bytes`` it becomes
``<function>.log.1`` (replacing the previous one) and a new file starts, so a function
keeps at most about twice ``max_bytes`` on disk. Offsets stay monotonic across
rotations: ``<function>.log.base`` holds the offset at which the current file starts,
a reader still inside the previous file reads on from it, and one further back
skips ahead to the oldest byte still kept.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections import OrderedDict
from pathlib import Path
from typing import IO

_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")
DEFAULT_MAX_BYTES = 32 << 20


class LogStore:
    def __init__(
        self, root: Path, max_open: int = 256, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._files: OrderedDict[str, IO[bytes]] = OrderedDict()  # least recently used first
        self._dirty: set[str] = set()
        self._max_open = max_open
        self.max_bytes = max_bytes

    def _path(self, function: str) -> Path:
        if not _SAFE.match(function):
            raise ValueError(f"bad function name for logs: {function!r}")
        return self.root / f"{function}.log"

    def _base(self, function: str) -> int:
        """The offset at which the current file starts (0 until the first rotation)."""
        try:
            return int((self.root / f"{function}.log.base").read_text())
        except (OSError, ValueError):
            return 0

    def append(self, function: str, text: str) -> None:
        data = text.encode("utf-8", "replace")
        handle = self._files.get(function)
        if handle is None:
            if len(self._files) >= self._max_open:
                _, oldest = self._files.popitem(last=False)  # one file, not a stall over all
                oldest.close()
            handle = open(self._path(function), "ab", buffering=1 << 16)
            self._files[function] = handle
        else:
            self._files.move_to_end(function)
        if handle.tell() and handle.tell() + len(data) > self.max_bytes:
            handle = self._rotate(function, handle)
        handle.write(data)
        self._dirty.add(function)

    def _rotate(self, function: str, handle: IO[bytes]) -> IO[bytes]:
        handle.close()
        path = self._path(function)
        size = path.stat().st_size
        base_file = self.root / f"{function}.log.base"
        new_base = self._base(function) + size
        tmp = base_file.with_suffix(".tmp")
        tmp.write_text(str(new_base))
        os.replace(path, self.root / f"{function}.log.1")
        os.replace(tmp, base_file)
        handle = open(path, "ab", buffering=1 << 16)
        self._files[function] = handle
        return handle

    def flush(self) -> None:
        for function in self._dirty:
            handle = self._files.get(function)
            if handle is not None:
                handle.flush()
        self._dirty.clear()

    def read(self, function: str, offset: int = 0, limit: int = 1 << 20) -> tuple[bytes, int]:
        """Bytes from ``offset`` (negative: from the end) and the offset to continue from."""
        handle = self._files.get(function)
        if handle is not None:
            handle.flush()
        path = self._path(function)
        if not path.exists():
            return b"", 0
        base = self._base(function)
        size = path.stat().st_size
        if offset < 0:
            offset = max(0, base + size + offset)
        if offset < base:
            previous = self.root / f"{function}.log.1"
            previous_size = previous.stat().st_size if previous.exists() else 0
            start = base - previous_size
            if offset < start:
                offset = start  # rotated away: continue with the oldest byte kept
            if offset < base:
                with open(previous, "rb") as src:
                    src.seek(offset - start)
                    data = src.read(min(limit, base - offset))
                return data, offset + len(data)
        with open(path, "rb") as src:
            src.seek(offset - base)
            data = src.read(limit)
        return data, offset + len(data)

    def remove(self, function: str) -> None:
        handle = self._files.pop(function, None)
        if handle is not None:
            handle.close()
        self._dirty.discard(function)
        self._path(function).unlink(missing_ok=True)
        for suffix in (".log.1", ".log.base"):
            with contextlib.suppress(OSError):
                (self.root / f"{function}{suffix}").unlink()

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()
        self._dirty.clear()
