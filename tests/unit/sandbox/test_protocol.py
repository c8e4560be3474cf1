"""Framing between the manager and an environment (lambdahost.sandbox.protocol)."""

from __future__ import annotations

import struct

import pytest

from lambdahost.sandbox import protocol


def test_roundtrip_single_frame() -> None:
    data = protocol.encode(protocol.T_INVOKE, b'["r1"]', b'{"a": 1}')
    assert protocol.FrameDecoder().feed(data) == [(protocol.T_INVOKE, (b'["r1"]', b'{"a": 1}'))]


def test_header_layout() -> None:
    data = protocol.encode(7, b"ab", b"")
    body_len, ftype, nparts = struct.unpack_from(">IBB", data)
    assert (ftype, nparts) == (7, 2)
    assert body_len == len(data) - 4 == 2 + 8 + 2
    assert struct.unpack_from(">II", data, 6) == (2, 0)


def test_zero_parts_and_empty_parts() -> None:
    dec = protocol.FrameDecoder()
    assert dec.feed(protocol.encode(3)) == [(3, ())]
    assert dec.feed(protocol.encode(3, b"", b"")) == [(3, (b"", b""))]


def test_byte_by_byte_feeding() -> None:
    frames = [
        protocol.encode(protocol.T_RESULT, b"[true]", b"x" * 300, b"log\n"),
        protocol.encode(protocol.T_READY, b"[1.5, 0]", b""),
    ]
    stream = b"".join(frames)
    dec = protocol.FrameDecoder()
    out = []
    for i in range(len(stream)):
        out.extend(dec.feed(stream[i : i + 1]))
        if i < len(frames[0]) - 1:
            assert out == []
    assert out == [
        (protocol.T_RESULT, (b"[true]", b"x" * 300, b"log\n")),
        (protocol.T_READY, (b"[1.5, 0]", b"")),
    ]
    assert dec.buffered == 0


def test_many_frames_in_one_chunk_with_partial_tail() -> None:
    one = protocol.encode(2, b"m", b"p")
    dec = protocol.FrameDecoder()
    assert len(dec.feed(one * 5 + one[:3])) == 5
    assert dec.buffered == 3
    assert dec.needed() == 0  # length field incomplete
    assert dec.feed(one[3:7]) == []
    assert dec.needed() == len(one) - 7
    assert dec.feed(one[7:]) == [(2, (b"m", b"p"))]


def test_bytearray_and_memoryview_input() -> None:
    one = protocol.encode(2, b"m")
    assert protocol.FrameDecoder().feed(bytearray(one)) == [(2, (b"m",))]
    assert protocol.FrameDecoder().feed(memoryview(one)) == [(2, (b"m",))]


def test_large_payload() -> None:
    big = bytes(range(256)) * 40000  # ~10 MB
    data = protocol.encode(protocol.T_INVOKE, b"{}", big)
    dec = protocol.FrameDecoder()
    frames = []
    for i in range(0, len(data), 65536):
        frames.extend(dec.feed(data[i : i + 65536]))
    assert frames == [(protocol.T_INVOKE, (b"{}", big))]


@pytest.mark.parametrize(
    "bad",
    [
        struct.pack(">IBB", 0, 1, 0),  # shorter than type + nparts
        struct.pack(">IBB", protocol.MAX_FRAME + 1, 1, 0),
    ],
)
def test_bad_length_raises(bad: bytes) -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.FrameDecoder().feed(bad)


def test_inconsistent_part_table_raises() -> None:
    data = bytearray(protocol.encode(2, b"abc"))
    struct.pack_into(">I", data, 6, 99)  # part length larger than the frame
    with pytest.raises(protocol.ProtocolError):
        protocol.FrameDecoder().feed(bytes(data))


def test_encode_rejects_bad_type() -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.encode(256, b"")
