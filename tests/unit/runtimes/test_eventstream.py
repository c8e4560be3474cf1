"""InvokeWithResponseStream's event-stream encoding, read back by botocore's own parser."""

from __future__ import annotations

import json

from botocore.eventstream import EventStreamBuffer

from lambdahost.api.routes.streaming import event_message, invoke_complete, payload_chunk
from lambdahost.app.invoke import InvokeReply


def parse(data: bytes) -> list[tuple[dict[str, object], bytes]]:
    buf = EventStreamBuffer()
    buf.add_data(data)
    return [(m.headers, m.payload) for m in buf]


def test_payload_chunks_round_trip_through_botocore() -> None:
    data = payload_chunk(b"hello ") + payload_chunk("wörld".encode())
    msgs = parse(data)
    assert [p for _, p in msgs] == [b"hello ", "wörld".encode()]
    assert msgs[0][0] == {
        ":event-type": "PayloadChunk",
        ":message-type": "event",
        ":content-type": "application/octet-stream",
    }


def test_invoke_complete_carries_the_error_and_log() -> None:
    reply = InvokeReply(
        "rid", b'{"errorType": "Boom", "errorMessage": "it broke"}', "Unhandled", "$LATEST", "TE9H"
    )
    headers, payload = parse(invoke_complete(reply))[0]
    assert headers[":event-type"] == "InvokeComplete"
    assert json.loads(payload) == {
        "ErrorCode": "Boom",
        "ErrorDetails": "it broke",
        "LogResult": "TE9H",
    }
    ok = InvokeReply("rid", b"{}", None, "$LATEST", None)
    assert json.loads(parse(invoke_complete(ok))[0][1]) == {}


def test_empty_payload_and_headers_only() -> None:
    assert parse(event_message({":event-type": "X"}, b"")) == [({":event-type": "X"}, b"")]
