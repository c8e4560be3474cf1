"""Host capacity: idle environments are evicted (LRU) before a new one is refused; a refusal is a 429."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from lambdahost.cli.client import Target, signed_get
from lambdahost.testing import ACCESS_KEY, REGION, ROLE, SECRET_KEY, LiveServer, make_zip

SLOW = "import os, time\ndef handler(event, context):\n    time.sleep(event.get('sleep', 0))\n    return os.getpid()\n"


def create(lam: Any, name: str, source: str = SLOW, memory: int = 128) -> None:
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        MemorySize=memory,
        Code={"ZipFile": make_zip({"app.py": source})},
    )


def test_eviction_then_throttle(tmp_path: Path) -> None:
    live = LiveServer(
        data_dir=tmp_path,
        store_url=f"sqlite:///{tmp_path}/s.db",
        extra_args=("--max-environments", "2"),
    )
    live.start()
    try:
        lam = live.client()
        for name in ("a", "b", "c"):
            create(lam, name)
        lam.invoke(FunctionName="a")
        lam.invoke(FunctionName="b")
        # Both slots hold idle environments: a third function evicts the least recently used.
        lam.invoke(FunctionName="c")
        _, _, body = signed_get(
            Target(live.endpoint, REGION, ACCESS_KEY, SECRET_KEY), "/_lambdahost/v1/environments"
        )
        keys = sorted(
            str(e["Key"]).split(":")[0] for e in json.loads(body)["Environments"] if e["Key"]
        )
        assert keys == ["b", "c"], keys
        # Both slots busy: a new environment cannot be had and the invoke is throttled.
        results: list[str] = []
        barrier = threading.Barrier(2)

        def busy(name: str) -> None:
            client = live.client()
            barrier.wait()
            client.invoke(FunctionName=name, Payload=b'{"sleep": 1.5}')

        threads = [threading.Thread(target=busy, args=(n,)) for n in ("b", "c")]
        for thread in threads:
            thread.start()
        import time

        time.sleep(0.5)
        try:
            lam.invoke(FunctionName="a")
            results.append("ok")
        except ClientError as error:
            results.append(error.response["Error"]["Code"])
            assert error.response["Reason"] == "ConcurrentInvocationLimitExceeded"
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        for thread in threads:
            thread.join()
        assert results == ["TooManyRequestsException"]
        assert lam.invoke(FunctionName="a")["StatusCode"] == 200, (
            "capacity is back once they finish"
        )
    finally:
        live.stop()


HOG = (
    "import os, time\n"
    "BALLAST = b'\\x01' * (100 << 20)  # 100 MB really in use (every page written)\n"
    "def handler(event, context):\n"
    "    time.sleep(event.get('sleep', 0))\n"
    "    return os.getpid()\n"
)


def _keys(live: LiveServer) -> list[str]:
    target = Target(live.endpoint, REGION, ACCESS_KEY, SECRET_KEY)
    _, _, body = signed_get(target, "/_lambdahost/v1/environments")
    return sorted(str(e["Key"]).split(":")[0] for e in json.loads(body)["Environments"] if e["Key"])


def test_memory_budget_counts_real_use_and_evicts_idle_environments_first(
    tmp_path: Path,
) -> None:
    """The budget is on memory environments really use (not MemorySize): 3 x 1 GB functions
    that each hold ~100 MB fit 256 MB twice, never three times."""
    live = LiveServer(
        data_dir=tmp_path,
        store_url=f"sqlite:///{tmp_path}/s.db",
        extra_args=("--memory-budget", "256"),
    )
    live.start()
    try:
        lam = live.client()
        for name in ("hog", "other"):
            create(lam, name, HOG, memory=1024)
        lam.invoke(FunctionName="hog")  # measured once idle: ~100 MB
        lam.invoke(FunctionName="other")
        assert _keys(live) == ["hog", "other"], "2 x 100 MB fit in 256 MB"

        results: list[object] = []

        def call() -> None:
            try:
                out = lam.invoke(FunctionName="hog", Payload=json.dumps({"sleep": 1.5}))
                results.append(out["StatusCode"])
            except ClientError as error:
                results.append(error.response)

        first = threading.Thread(target=call)
        first.start()  # takes hog's idle environment
        time.sleep(0.4)
        second = threading.Thread(target=call)
        second.start()  # needs a new ~100 MB environment: the idle "other" is evicted
        time.sleep(0.4)
        assert _keys(live) == ["hog", "hog"]
        call()  # a third would go past the budget with nothing idle left: 429
        first.join()
        second.join()
        throttled = [r for r in results if isinstance(r, dict)]
        assert results.count(200) == 2 and len(throttled) == 1, results
        error = throttled[0]
        assert error["Error"]["Code"] == "TooManyRequestsException"  # type: ignore[index]
        assert error["Reason"] == "ConcurrentInvocationLimitExceeded"  # type: ignore[index]
    finally:
        live.stop()


def test_idle_environments_disappear_after_the_keep_alive(tmp_path: Path) -> None:
    live = LiveServer(
        data_dir=tmp_path,
        store_url=f"sqlite:///{tmp_path}/s.db",
        extra_args=("--idle-timeout", "0.5"),
    )
    live.start()
    try:
        lam = live.client()
        create(lam, "brief")
        pid = json.loads(lam.invoke(FunctionName="brief")["Payload"].read())
        assert _keys(live) == ["brief"]
        deadline = time.monotonic() + 10
        while _keys(live) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _keys(live) == [], "scaled to zero after the keep-alive"
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            pass
        else:
            raise AssertionError("the environment's process is gone too")
        again = lam.invoke(FunctionName="brief", LogType="Tail")
        assert "Init Duration" in base64.b64decode(again["LogResult"]).decode(), "a cold start"
    finally:
        live.stop()
