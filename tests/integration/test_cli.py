"""The lambdahost CLI against a live server: deploy, invoke, logs, ls, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lambdahost.testing import ACCESS_KEY, SECRET_KEY, LiveServer, free_port


def cli(
    server_endpoint: str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        {
            "LAMBDAHOST_ENDPOINT": server_endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "lambdahost.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        input=stdin,
    )


def test_deploy_invoke_logs_ls(server: LiveServer, tmp_path: Path, fname: str) -> None:
    src = tmp_path / fname
    src.mkdir()
    (src / "app.py").write_text(
        "def handler(event, context):\n    print('seen', event)\n    return {'v': 1, 'e': event}\n"
    )
    deployed = cli(server.endpoint, "deploy", str(src), "--timeout", "5")
    assert deployed.returncode == 0, deployed.stderr
    assert deployed.stdout.startswith(f"created {fname}")
    invoked = cli(server.endpoint, "invoke", fname, '{"k": 2}', "--log")
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout) == {"v": 1, "e": {"k": 2}}
    assert "REPORT RequestId:" in invoked.stderr
    (src / "app.py").write_text("def handler(event, context):\n    return 'v2'\n")
    redeployed = cli(server.endpoint, "deploy", str(src))
    assert redeployed.stdout.startswith(f"updated {fname}"), redeployed.stderr
    assert json.loads(cli(server.endpoint, "invoke", fname).stdout) == "v2"
    piped = cli(server.endpoint, "invoke", fname, "-", stdin='{"from": "stdin"}')
    assert piped.returncode == 0
    logs = cli(server.endpoint, "logs", fname)
    assert logs.returncode == 0
    assert "seen {'k': 2}" in logs.stdout and logs.stdout.count("START RequestId") == 3
    listed = cli(server.endpoint, "ls")
    assert fname in listed.stdout


def test_function_error_exit_code(server: LiveServer, tmp_path: Path, fname: str) -> None:
    src = tmp_path / fname
    src.mkdir()
    (src / "app.py").write_text("def handler(event, context):\n    raise RuntimeError('boom')\n")
    assert cli(server.endpoint, "deploy", str(src)).returncode == 0
    result = cli(server.endpoint, "invoke", fname)
    assert result.returncode == 1
    assert json.loads(result.stdout)["errorMessage"] == "boom"


def test_errors_are_one_line(server: LiveServer) -> None:
    missing = cli(server.endpoint, "invoke", "no-such-function")
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        "Error: ResourceNotFoundException: Function not found: "
        "arn:aws:lambda:us-east-1:123456789012:function:no-such-function"
    ]
    assert "Traceback" not in missing.stderr
    logs = cli(server.endpoint, "logs", "no-such-function")
    assert logs.returncode == 1 and len(logs.stderr.strip().splitlines()) == 1
    down = cli(f"http://127.0.0.1:{free_port()}", "ls")
    assert down.returncode == 1
    assert len(down.stderr.strip().splitlines()) == 1 and "Traceback" not in down.stderr
    bad_dir = cli(server.endpoint, "deploy", "/does/not/exist")
    assert bad_dir.returncode == 2 and "Traceback" not in bad_dir.stderr


def test_up_reports_a_busy_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        env = dict(
            os.environ, LAMBDAHOST_ACCESS_KEY_ID=ACCESS_KEY, LAMBDAHOST_SECRET_ACCESS_KEY=SECRET_KEY
        )
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "lambdahost.cli.main",
                "up",
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert result.stderr.strip().startswith("Error: cannot listen on")
    assert "Traceback" not in result.stderr


def test_logs_follow(server: LiveServer, tmp_path: Path, fname: str) -> None:
    import select
    import time

    src = tmp_path / fname
    src.mkdir()
    (src / "app.py").write_text("def handler(event, context):\n    print('tick', event['n'])\n")
    assert cli(server.endpoint, "deploy", str(src)).returncode == 0
    env = dict(
        os.environ,
        LAMBDAHOST_ENDPOINT=server.endpoint,
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION="us-east-1",
    )
    follower = subprocess.Popen(
        [sys.executable, "-m", "lambdahost.cli.main", "logs", fname, "--follow"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lam = server.client()
        for n in range(3):
            lam.invoke(FunctionName=fname, Payload=json.dumps({"n": n}).encode())
        seen = ""
        deadline = time.monotonic() + 15
        assert follower.stdout is not None
        while time.monotonic() < deadline and "tick 2" not in seen:
            ready, _, _ = select.select([follower.stdout], [], [], 0.5)
            if ready:
                seen += os.read(follower.stdout.fileno(), 65536).decode()
        assert "tick 0" in seen and "tick 1" in seen and "tick 2" in seen
    finally:
        follower.kill()
        follower.wait()


def test_queue_shows_depth(server: LiveServer, tmp_path: Path, fname: str) -> None:
    src = tmp_path / fname
    src.mkdir()
    (src / "app.py").write_text("import time\ndef handler(event, context):\n    time.sleep(1)\n")
    assert cli(server.endpoint, "deploy", str(src), "--timeout", "5").returncode == 0
    lam = server.client()
    for _ in range(12):
        lam.invoke(FunctionName=fname, InvocationType="Event", Payload=b"{}")
    shown = cli(server.endpoint, "queue")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("Event queue depth: ")
    assert fname in shown.stdout
