"""A store error refuses new Event invocations with a 5xx: nothing unstored is ever acknowledged."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from pathlib import Path
from typing import Any

from lambdahost.api.app import LambdaHostApp
from lambdahost.api.http import Request
from lambdahost.app.platform import Platform
from lambdahost.settings import Settings
from lambdahost.store import Store
from lambdahost.testing import ROLE, make_zip


def test_event_is_refused_when_the_store_fails(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, dict[str, Any], int]:
        platform = Platform(Settings(port=1, data_dir=tmp_path, auth=False, event_workers=0))
        app = LambdaHostApp(platform)
        await platform.start()
        try:
            code = base64.b64encode(
                make_zip({"app.py": "def handler(e, c):\n    return 1\n"})
            ).decode()
            await platform.functions.create(
                {
                    "FunctionName": "f",
                    "Runtime": "python3.12",
                    "Role": ROLE,
                    "Handler": "app.handler",
                    "Code": {"ZipFile": code},
                }
            )

            def broken(rows: object) -> None:
                raise OSError(28, "No space left on device")

            store = platform.store.store
            assert isinstance(store, Store)
            store.events.enqueue_many = broken  # type: ignore[method-assign,assignment]
            response = await app.handle(
                Request(
                    "POST",
                    "/2015-03-31/functions/f/invocations",
                    "",
                    {"x-amz-invocation-type": "Event"},
                    b'{"k": 1}',
                    str(uuid.uuid4()),
                )
            )
            depth = await platform.store.call(lambda s: s.events.depth())
            return response.status, json.loads(response.body), depth
        finally:
            await platform.stop()

    status, body, depth = asyncio.run(scenario())
    assert status == 500
    assert body["Type"] == "Service"
    assert depth == 0
