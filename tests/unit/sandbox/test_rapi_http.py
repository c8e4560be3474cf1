"""The per-environment HTTP/1.1 protocol, fed bytes directly (a fake transport, no sockets)."""

from __future__ import annotations

from typing import Any

from lambdahost.sandbox.rapi.http import BodySink, Connection, HttpRequest


class FakeTransport:
    def __init__(self) -> None:
        self.data = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.data += data

    def close(self) -> None:
        self.closed = True


class App:
    def __init__(self, stream_paths: tuple[str, ...] = ()) -> None:
        self.handled: list[HttpRequest] = []
        self.chunks: list[bytes] = []
        self.stream_paths = stream_paths
        self.lost = 0
        self.auto = True

    def begin(self, request: HttpRequest, conn: Connection) -> BodySink | None:
        return self.chunks.append if request.path in self.stream_paths else None

    def handle(self, request: HttpRequest, conn: Connection) -> None:
        self.handled.append(request)
        if self.auto:
            conn.respond(202, b"ok:" + request.path.encode())

    def closed(self, conn: Connection) -> None:
        self.lost += 1


def connect(app: Any, limit: int = 1 << 20) -> tuple[Connection, FakeTransport]:
    conn = Connection(app, limit)
    transport = FakeTransport()
    conn.connection_made(transport)  # type: ignore[arg-type]
    return conn, transport


def test_keep_alive_requests_answered_in_order() -> None:
    app = App()
    app.auto = False
    conn, t = connect(app)
    conn.data_received(
        b"GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\n"
        b"Content-Length: 3\r\n\r\nabc"
    )
    assert [r.path for r in app.handled] == ["/a"]  # the second waits for the first's answer
    conn.respond(200, b"first")
    assert [r.path for r in app.handled] == ["/a", "/b"] and app.handled[1].body == b"abc"
    conn.respond(202, b"second", {"X-K": "v"})
    assert t.data.count(b"HTTP/1.1") == 2 and t.data.endswith(
        b"X-K: v\r\nContent-Length: 6\r\n\r\nsecond"
    )
    assert not t.closed


def test_chunked_body_with_trailers_goes_to_the_sink() -> None:
    app = App(stream_paths=("/s",))
    conn, _ = connect(app)
    conn.data_received(
        b"POST /s HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
        b"Trailer: X-Err\r\n\r\n5\r\nhello\r\n"
    )
    assert app.chunks == [b"hello"] and not app.handled
    conn.data_received(b"6\r\n world\r\n0\r\nX-Err: boom\r\n\r\n")
    req = app.handled[0]
    assert app.chunks == [b"hello", b" world"] and req.streamed and req.body == b""
    assert req.trailers == {"x-err": "boom"} and req.headers["trailer"] == "X-Err"
    assert req.body_size == 11


def test_expect_continue_and_body_limit() -> None:
    app = App()
    conn, t = connect(app, limit=4)
    conn.data_received(
        b"POST /big HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n"
    )
    assert t.data == b"HTTP/1.1 100 Continue\r\n\r\n"
    conn.data_received(b"0123456789")
    req = app.handled[0]
    assert req.body == b"" and req.body_size == 10  # over the limit: counted, not kept


def test_garbage_is_a_400_and_close() -> None:
    app = App()
    conn, t = connect(app)
    conn.data_received(b"NOT HTTP AT ALL\r\n\r\n")
    assert t.data.startswith(b"HTTP/1.1 400 Bad Request") and t.closed
    assert not app.handled


def test_connection_close_is_honoured() -> None:
    app = App()
    conn, t = connect(app)
    conn.data_received(b"GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    assert b"Connection: close" in t.data and t.closed
    conn.connection_lost(None)
    assert app.lost == 1 and not conn.open
