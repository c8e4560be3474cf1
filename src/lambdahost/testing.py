"""Test and benchmark harness: a live lambdahost server in a subprocess, and zip helpers.

Shipped with the package so that users' own tests (and ``bench/``) can start a
real server the same way lambdahost's integration tests do.
"""

from __future__ import annotations

import io
import os
import select
import signal
import socket
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCESS_KEY = "LHIATESTKEY000000001"
SECRET_KEY = "test-secret-key-for-lambdahost-tests"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    data_dir: Path
    store_url: str
    port: int = field(default_factory=free_port)
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    output: list[str] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The server process environment: fixed root keys, unbuffered output."""
        env = dict(os.environ)
        env.update(
            {
                "LAMBDAHOST_ACCESS_KEY_ID": ACCESS_KEY,
                "LAMBDAHOST_SECRET_ACCESS_KEY": SECRET_KEY,
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def start(self, timeout: float = 30.0) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lambdahost.cli.main",
                "up",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--store-url",
                self.store_url,
                *self.extra_args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self.env(),
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        buffer = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:
                    break
                buffer += chunk
                if b"ready at" in buffer:
                    self.output.append(buffer.decode(errors="replace"))
                    self._drain()
                    return
            if self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"lambdahost did not start: {buffer.decode(errors='replace')}")

    def _drain(self) -> None:
        """Keep reading the server's output so it never blocks on a full pipe."""
        import threading

        process = self.process
        assert process is not None and process.stdout is not None
        stream = process.stdout

        def pump() -> None:
            for line in iter(stream.readline, b""):
                self.output.append(line.decode(errors="replace"))
                del self.output[:-2000]

        threading.Thread(target=pump, daemon=True).start()

    def log_text(self) -> str:
        """What the server printed so far (its last 2000 lines)."""
        return "".join(self.output)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill9(self) -> None:
        self.stop(signal.SIGKILL)

    def client(self, service: str = "lambda", **overrides: Any) -> Any:
        import boto3
        from botocore.config import Config

        params: dict[str, Any] = {
            "endpoint_url": self.endpoint,
            "region_name": REGION,
            "aws_access_key_id": ACCESS_KEY,
            "aws_secret_access_key": SECRET_KEY,
            "config": Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=120),
        }
        params.update(overrides)
        return boto3.client(service, **params)


def make_zip(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


ROLE = "arn:aws:iam::123456789012:role/lambda-role"
