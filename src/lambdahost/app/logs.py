"""Per-function logs on local disk: START/END/REPORT and what the function printed.

Each function has one append-only file, ``<logs>/<function>.log``. Writes are
buffered and flushed by ``flush()`` (called periodically by the server), so
the invoke path never waits on the disk for logs. Readers page by byte offset,
which is what ``lambdahost logs --follow`` polls.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import IO

_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


class LogStore:
    def __init__(self, root: Path, max_open: int = 256) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, IO[bytes]] = {}
        self._dirty: set[str] = set()
        self._max_open = max_open

    def _path(self, function: str) -> Path:
        if not _SAFE.match(function):
            raise ValueError(f"bad function name for logs: {function!r}")
        return self.root / f"{function}.log"

    def append(self, function: str, text: str) -> None:
        handle = self._files.get(function)
        if handle is None:
            if len(self._files) >= self._max_open:
                self.close()
            handle = open(self._path(function), "ab", buffering=1 << 16)
            self._files[function] = handle
        handle.write(text.encode("utf-8", "replace"))
        self._dirty.add(function)

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
        size = path.stat().st_size
        if offset < 0:
            offset = max(0, size + offset)
        with open(path, "rb") as src:
            src.seek(offset)
            data = src.read(limit)
        return data, offset + len(data)

    def remove(self, function: str) -> None:
        handle = self._files.pop(function, None)
        if handle is not None:
            handle.close()
        self._dirty.discard(function)
        self._path(function).unlink(missing_ok=True)

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()
        self._dirty.clear()
