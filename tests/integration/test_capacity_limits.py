"""Host capacity: idle environments are evicted (LRU) before a new one is refused; a refusal is a 429."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from botocore.exceptions import ClientError

from lambdahost.cli.client import Target, signed_get
from lambdahost.testing import ACCESS_KEY, REGION, ROLE, SECRET_KEY, LiveServer, make_zip

SLOW = "import os, time\ndef handler(event, context):\n    time.sleep(event.get('sleep', 0))\n    return os.getpid()\n"


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
            lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=ROLE,
                Handler="app.handler",
                Code={"ZipFile": make_zip({"app.py": SLOW})},
            )
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


def test_memory_budget_evicts_idle_environments_first(tmp_path: Path) -> None:
    live = LiveServer(
        data_dir=tmp_path,
        store_url=f"sqlite:///{tmp_path}/s.db",
        extra_args=("--memory-budget", "512"),
    )
    live.start()
    try:
        lam = live.client()
        for name, memory in (("small1", 256), ("small2", 256), ("big", 512)):
            lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=ROLE,
                Handler="app.handler",
                MemorySize=memory,
                Code={"ZipFile": make_zip({"app.py": SLOW})},
            )
        lam.invoke(FunctionName="small1")
        lam.invoke(FunctionName="small2")
        lam.invoke(FunctionName="big")  # 512 MB only fits once both idle 256 MB envs are evicted
        target = Target(live.endpoint, REGION, ACCESS_KEY, SECRET_KEY)
        _, _, body = signed_get(target, "/_lambdahost/v1/environments")
        keys = sorted(
            str(e["Key"]).split(":")[0] for e in json.loads(body)["Environments"] if e["Key"]
        )
        assert keys == ["big"], keys
        lam.create_function(
            FunctionName="huge",
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            MemorySize=1024,
            Code={"ZipFile": make_zip({"app.py": SLOW})},
        )
        try:
            lam.invoke(FunctionName="huge")
        except ClientError as error:
            assert error.response["Error"]["Code"] == "TooManyRequestsException"
        else:
            raise AssertionError("a function larger than the host's budget must be throttled")
    finally:
        live.stop()
