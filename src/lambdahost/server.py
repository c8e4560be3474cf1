"""Run the platform behind uvicorn (uvloop + httptools) on a pre-bound socket.

The listening socket is bound before startup, so by the time ``on_ready`` runs
(after the platform has started) the endpoint already accepts connections:
``lambdahost up`` prints the endpoint only when it is ready to serve.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn

from lambdahost.api.app import LambdaHostApp
from lambdahost.app.platform import Platform
from lambdahost.settings import Settings


class _ReadyApp(LambdaHostApp):
    def __init__(self, platform: Platform, on_ready: Callable[[Platform], None]) -> None:
        super().__init__(platform)
        self._on_ready = on_ready

    async def _lifespan(self, receive, send):  # type: ignore[no-untyped-def]
        async def send_and_announce(message):  # type: ignore[no-untyped-def]
            await send(message)
            if message["type"] == "lifespan.startup.complete":
                self._on_ready(self.platform)

        await super()._lifespan(receive, send_and_announce)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(settings: Settings, on_ready: Callable[[Platform], None]) -> None:
    sock = bind(settings.host, settings.port)
    platform = Platform(settings)
    app = _ReadyApp(platform, on_ready)
    config = uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,  # no proxy in front by default; saves a middleware per request
        date_header=False,
        timeout_keep_alive=75,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
