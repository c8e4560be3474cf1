"""Function logs on disk: paging by offset, and rotation that keeps offsets monotonic."""

from __future__ import annotations

from pathlib import Path

from lambdahost.app.logs import LogStore


def read_all(logs: LogStore, function: str, offset: int = 0, limit: int = 7) -> tuple[bytes, int]:
    out = b""
    while True:
        data, offset = logs.read(function, offset, limit)
        if not data:
            return out, offset
        out += data


def test_pages_by_offset(tmp_path: Path) -> None:
    logs = LogStore(tmp_path)
    logs.append("fn", "hello\n")
    logs.append("fn", "world\n")
    assert read_all(logs, "fn") == (b"hello\nworld\n", 12)
    assert logs.read("fn", -6) == (b"world\n", 12)
    assert logs.read("fn", 12) == (b"", 12)
    assert logs.read("nope") == (b"", 0)


def test_rotation_keeps_offsets_monotonic_and_bounds_the_disk(tmp_path: Path) -> None:
    logs = LogStore(tmp_path, max_bytes=20)
    lines = [f"line {i:02d}\n".encode() for i in range(12)]  # 8 bytes each
    followed = b""
    offset = 0
    for line in lines:
        logs.append("fn", line.decode())
        data, offset = read_all(logs, "fn", offset)  # a follower that keeps up sees it all
        followed += data
    assert followed == b"".join(lines)
    assert offset == 96, "offsets count every byte ever written"
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["fn.log", "fn.log.1", "fn.log.base"]
    assert sum((tmp_path / f).stat().st_size for f in ("fn.log", "fn.log.1")) <= 40
    # A reader from the start skips what was rotated away and reads what is kept, in order.
    kept, end = read_all(logs, "fn", 0)
    assert end == 96 and b"".join(lines).endswith(kept) and len(kept) >= 20
    assert logs.read("fn", -8) == (b"line 11\n", 96)
    logs.remove("fn")
    assert list(tmp_path.iterdir()) == []


def test_only_the_least_recently_used_file_is_closed(tmp_path: Path) -> None:
    logs = LogStore(tmp_path, max_open=2)
    logs.append("a", "1\n")
    logs.append("b", "1\n")
    logs.append("a", "2\n")  # "b" is now the least recently used
    logs.append("c", "1\n")  # closes "b" only
    assert set(logs._files) == {"a", "c"}
    logs.append("b", "2\n")
    logs.flush()
    assert [logs.read(f)[0] for f in "abc"] == [b"1\n2\n", b"1\n2\n", b"1\n"]
