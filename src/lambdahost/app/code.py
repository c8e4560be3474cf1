"""Deployment packages on the local disk: extract once per CodeSha256, share.

Extraction goes to a temporary directory and is renamed into place, so a
half-extracted package is never used. Extracted trees are read-only to
functions and shared by every environment of every version with that code.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

from lambdahost.core.codezip import UNZIPPED_LIMIT, safe_member_path


def code_dir_name(sha256_b64: str) -> str:
    return base64.b16encode(base64.b64decode(sha256_b64)).decode().lower()


class CodeCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256_b64: str) -> Path:
        return self.root / code_dir_name(sha256_b64)

    def is_extracted(self, sha256_b64: str) -> bool:
        return self.path_for(sha256_b64).is_dir()

    def extract(self, sha256_b64: str, data: bytes) -> Path:
        target = self.path_for(sha256_b64)
        if target.is_dir():
            return target
        staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=self.root))
        try:
            extract_zip(data, staging)
            os.chmod(staging, 0o755)
            try:
                os.rename(staging, target)
            except OSError:
                if not target.is_dir():
                    raise
                shutil.rmtree(staging, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target


def extract_zip(data: bytes, dest: Path, limit: int = UNZIPPED_LIMIT) -> None:
    """Extract with path checks and a hard size limit; keep the executable bit."""
    written = 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            rel = safe_member_path(info.filename)
            if rel is None:
                raise ValueError(f"unsafe path in archive: {info.filename}")
            if not rel:
                continue
            out = dest / rel
            mode = (info.external_attr >> 16) & 0o7777
            kind = (info.external_attr >> 16) & 0o170000
            if info.is_dir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            if kind == stat.S_IFLNK:
                target = archive.read(info).decode()
                os.symlink(target, out)
                continue
            with archive.open(info) as src, open(out, "wb") as sink:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > limit:
                        raise ValueError("archive exceeds the unzipped size limit")
                    sink.write(chunk)
            executable = 0o755 if mode & 0o111 else 0o644
            os.chmod(out, executable)
