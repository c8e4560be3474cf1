"""Shared benchmark helpers: percentiles, pre-signed requests, a keep-alive client."""

from __future__ import annotations

import http.client
import statistics
from collections.abc import Sequence
from typing import Any

from lambdahost.testing import ACCESS_KEY, REGION, SECRET_KEY

TRIVIAL = 'import json\ndef handler(event, context):\n    return {"statusCode": 200, "body": json.dumps(event)}\n'


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "n": float(len(ordered)),
        "p50": statistics.median(ordered),
        "p90": pick(0.90),
        "p99": pick(0.99),
        "p99.9": pick(0.999),
    }


def fmt(stats: dict[str, float]) -> str:
    return (
        f"p50 {stats['p50']:.2f} ms, p90 {stats['p90']:.2f} ms, p99 {stats['p99']:.2f} ms, "
        f"p99.9 {stats['p99.9']:.2f} ms (n={int(stats['n'])})"
    )


def signed_invoke(endpoint: str, function: str, payload: bytes) -> tuple[str, dict[str, str]]:
    """Path and headers of an Invoke request signed now (valid for 15 minutes)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    path = f"/2015-03-31/functions/{function}/invocations"
    request = AWSRequest(method="POST", url=endpoint + path, data=payload)
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "lambda", REGION).add_auth(request)
    headers = {k: str(v) for k, v in request.prepare().headers.items()}
    return path, headers


class KeepAliveClient:
    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port)

    def post(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, Any]:
        self.conn.request("POST", path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, data, response.headers


def run_wrk(
    endpoint: str, path: str, headers: dict[str, str], body: bytes, connections: int, seconds: int
) -> str | None:
    """Run wrk with one pre-signed POST; a one-line summary, or None without wrk."""
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    if shutil.which("wrk") is None:
        return None
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    script.write_text(
        f'wrk.method = "POST"\nwrk.path = "{path}"\nwrk.body = \'{body.decode()}\'\n{lines}\n'
    )
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(script),
                endpoint,
            ],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
    finally:
        script.unlink()
    rps = next((x.strip() for x in out.splitlines() if "Requests/sec" in x), "Requests/sec: ?")
    latency = [x.strip() for x in out.splitlines() if x.strip().startswith(("50%", "99%"))]
    errors = [x.strip() for x in out.splitlines() if "Non-2xx" in x or "Socket errors" in x]
    return f"{rps}; latency {' / '.join(latency)} {' '.join(errors)}".strip()


def print_rows(rows: Sequence[tuple[str, str, str]]) -> None:
    """Print (metric, p50 or value, p99 or extra) rows as an aligned table."""
    width = max(len(r[0]) for r in rows)
    print(f"{'metric':<{width}}  {'p50 / value':>14}  {'p99 / extra':>14}")
    for name, a, b in rows:
        print(f"{name:<{width}}  {a:>14}  {b:>14}", flush=True)
