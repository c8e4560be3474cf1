"""Deployment-package checks: is it a zip, how big unzipped, are its paths safe.

Pure over the bytes of the archive; extraction to disk lives in
``lambdahost.app.code``. Limits and wording follow Lambda's.
"""

from __future__ import annotations

import base64
import hashlib
import io
import posixpath
import zipfile
from dataclasses import dataclass

from lambdahost.errors import invalid_parameter

UNZIPPED_LIMIT = 262_144_000  # 250 MB, code plus layers
ZIPPED_LIMIT = 52_428_800  # 50 MB by direct upload
UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."


@dataclass(frozen=True)
class CheckedZip:
    """A deployment package that passed every check."""

    data: bytes
    sha256: str  # base64 of the SHA-256, as Lambda's CodeSha256
    size: int
    unzipped_size: int


def code_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def safe_member_path(name: str) -> str | None:
    """The normalised relative path of a member, or None if it escapes the root."""
    if "\x00" in name:
        return None
    cleaned = name.replace("\\", "/")
    if cleaned.startswith("/") or (len(cleaned) > 1 and cleaned[1] == ":"):
        return None
    normal = posixpath.normpath(cleaned)
    if normal == ".." or normal.startswith("../"):
        return None
    return "" if normal == "." else normal


def check_zip(data: bytes, *, unzipped_limit: int = UNZIPPED_LIMIT) -> CheckedZip:
    """Validate a deployment package or raise InvalidParameterValueException."""
    if len(data) > ZIPPED_LIMIT:
        raise invalid_parameter(f"Zipped size must be smaller than {ZIPPED_LIMIT} bytes")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise invalid_parameter(UNZIP_FAILED) from exc
    total = 0
    for info in infos:
        if safe_member_path(info.filename) is None:
            raise invalid_parameter(
                f"{UNZIP_FAILED} The entry '{info.filename}' would be extracted outside the "
                "function's directory."
            )
        if _is_symlink(info):
            target = archive.read(info).decode("utf-8", "replace")
            joined = posixpath.join(posixpath.dirname(info.filename), target)
            if target.startswith("/") or safe_member_path(joined) is None:
                raise invalid_parameter(
                    f"{UNZIP_FAILED} The symbolic link '{info.filename}' points outside the "
                    "function's directory."
                )
        total += info.file_size
        if total > unzipped_limit:
            raise invalid_parameter(f"Unzipped size must be smaller than {unzipped_limit} bytes")
    if archive.testzip() is not None:
        raise invalid_parameter(UNZIP_FAILED)
    return CheckedZip(data=data, sha256=code_sha256(data), size=len(data), unzipped_size=total)


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return (info.external_attr >> 16) & 0o170000 == 0o120000
