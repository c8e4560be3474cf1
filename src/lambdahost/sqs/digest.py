"""MD5 digests SQS returns for message bodies and message (system) attributes (pure).

The attribute digest follows AWS's documented algorithm: attributes sorted by
name; for each, the name, the data type and the value are each encoded as a
4-byte big-endian length followed by their bytes (UTF-8 for text), with a
one-byte transport type (1 for String and Number, 2 for Binary) between the
data type and the value; the MD5 of the concatenation, in hex.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

STRING_TRANSPORT = 1
BINARY_TRANSPORT = 2


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_of_body(body: str) -> str:
    return md5_hex(body.encode("utf-8"))


def _chunk(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def md5_of_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The digest of wire-form attributes (``BinaryValue`` base64-encoded); None if empty."""
    if not attributes:
        return None
    out = bytearray()
    for name in sorted(attributes):
        value = attributes[name]
        data_type = str(value["DataType"])
        out += _chunk(name.encode("utf-8"))
        out += _chunk(data_type.encode("utf-8"))
        if data_type.split(".", 1)[0] == "Binary":
            out.append(BINARY_TRANSPORT)
            out += _chunk(base64.b64decode(value.get("BinaryValue") or ""))
        else:
            out.append(STRING_TRANSPORT)
            out += _chunk(str(value.get("StringValue", "")).encode("utf-8"))
    return md5_hex(bytes(out))
