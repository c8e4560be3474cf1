"""Reserved and account concurrency with parallel boto3 clients: limits hold, throttles are exact."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdahost.cli.client import Target, signed_get
from lambdahost.testing import ACCESS_KEY, REGION, SECRET_KEY, LiveServer

SLOW = "import time\ndef handler(event, context):\n    time.sleep(event.get('sleep', 1.0))\n    return 'done'\n"


def stats_for(server: LiveServer, name: str) -> dict[str, Any]:
    _, _, body = signed_get(
        Target(server.endpoint, REGION, ACCESS_KEY, SECRET_KEY), "/_lambdahost/v1/stats"
    )
    return next(r for r in json.loads(body)["Functions"] if r["FunctionName"] == name)


def test_reserved_concurrency_api(lam: Any, create: Callable[..., Any], fname: str) -> None:
    create(fname)
    assert (
        lam.get_function_concurrency(FunctionName=fname).get("ReservedConcurrentExecutions") is None
    )
    before = lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    assert (
        lam.put_function_concurrency(FunctionName=fname, ReservedConcurrentExecutions=5)[
            "ReservedConcurrentExecutions"
        ]
        == 5
    )
    assert lam.get_function_concurrency(FunctionName=fname)["ReservedConcurrentExecutions"] == 5
    assert lam.get_function(FunctionName=fname)["Concurrency"] == {
        "ReservedConcurrentExecutions": 5
    }
    after = lam.get_account_settings()["AccountLimit"]
    assert after["UnreservedConcurrentExecutions"] == before - 5
    assert after["ConcurrentExecutions"] == 1000
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as exc:
        lam.put_function_concurrency(FunctionName=fname, ReservedConcurrentExecutions=950)
    assert "below its minimum value of [100]" in str(exc.value)
    assert lam.get_function_concurrency(FunctionName=fname)["ReservedConcurrentExecutions"] == 5
    lam.delete_function_concurrency(FunctionName=fname)
    assert "Concurrency" not in lam.get_function(FunctionName=fname)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.put_function_concurrency(FunctionName=fname + "-nope", ReservedConcurrentExecutions=1)


def test_zero_throttles_everything(lam: Any, create: Callable[..., Any], fname: str) -> None:
    create(fname)
    lam.put_function_concurrency(FunctionName=fname, ReservedConcurrentExecutions=0)
    with pytest.raises(lam.exceptions.TooManyRequestsException) as exc:
        lam.invoke(FunctionName=fname)
    assert exc.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert exc.value.response["Error"]["Message"] == "Rate Exceeded."
    lam.delete_function_concurrency(FunctionName=fname)
    assert lam.invoke(FunctionName=fname)["StatusCode"] == 200


def test_limit_holds_under_parallel_clients(
    server: LiveServer, lam: Any, create: Callable[..., Any], fname: str
) -> None:
    create(fname, files={"app.py": SLOW}, Timeout=10)
    lam.put_function_concurrency(FunctionName=fname, ReservedConcurrentExecutions=3)
    results: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def call() -> None:
        client = server.client()
        barrier.wait()
        try:
            client.invoke(FunctionName=fname, Payload=json.dumps({"sleep": 1.5}).encode())
            outcome = "ok"
        except ClientError as error:
            outcome = error.response["Error"]["Code"]
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("ok") == 3, results
    assert results.count("TooManyRequestsException") == 5, results
    stats = stats_for(server, fname)
    assert stats["Throttles"] == 5 and stats["PeakConcurrentExecutions"] == 3
    assert stats["ConcurrentExecutions"] == 0
