"""Fixtures of the live runtime tests: the integration suite's server (both stores) and
helpers to build zips with executable files."""

from __future__ import annotations

import io
import shutil
import zipfile

import pytest

from tests.integration.conftest import create, fname, lam, server, shared_dir  # noqa: F401


def zip_files(files: dict[str, str | bytes | tuple[str | bytes, int]]) -> bytes:
    """A zip whose entries may carry a mode: ``{"bootstrap": (text, 0o755)}``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, spec in files.items():
            content, mode = spec if isinstance(spec, tuple) else (spec, 0o644)
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buf.getvalue()


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed on this machine (install it to run this test)")
    return path
