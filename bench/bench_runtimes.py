"""Cold start and warm overhead of Runtime-API runtimes, set against the built-in Python one.

Runs the sandbox directly (no control-plane HTTP): every runtime below except the first
talks to its environment's HTTP Runtime API.

  builtin     python3.12 on the fork-server's frame protocol (the default for python3.x)
  raw-http    a minimal Python Runtime API client (keep-alive http.client): the cost of
              the Runtime API path itself, with almost no runtime work
  awslambdaric  unmodified awslambdaric started by a bootstrap (``provided.al2023``)
  shell-curl  AWS's curl tutorial bootstrap (two curl processes per invocation)
  node        nodejs20.x with lambdahost's Node.js bootstrap
  py+ext      python3.12 with one external extension (the Runtime API client of the
              built-in runtime, plus the extension's INVOKE round trip)

Columns: cold = invoke wall time of a new function (p50/p99); init = Init Duration
(environment assigned -> runtime's first /next, i.e. the runtime's own start-up: exec,
interpreter start, imports, handler load); cold platform = cold - init - duration (taking
a pre-forked environment, opening its Runtime API, the supervisor's mounts and fork/exec,
delivering the event); warm = round trip of a warm invoke;
duration = delivery of the event -> its response (the runtime's own work); overhead =
warm - duration, i.e. what the platform adds (event loop, HTTP, thaw/freeze).

Usage: .venv/bin/python -m bench.bench_runtimes [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass

from lambdahost.runtimes import launch_for, node_bootstrap
from lambdahost.sandbox import EnvironmentManager, EnvSpec, InvokeRequest, Outcome, SandboxSettings
from lambdahost.sandbox.types import Launch

PY = sys.executable
HANDLER_PY = "def handler(event, context):\n    return {'ok': True}\n"
HANDLER_JS = "exports.handler = async () => ({ ok: true });\n"
RAW_CLIENT = f"""#!{PY} -S
import http.client, os
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
c = http.client.HTTPConnection(host, int(port))
while True:
    c.request("GET", "/2018-06-01/runtime/invocation/next")
    r = c.getresponse(); r.read()
    rid = r.getheader("Lambda-Runtime-Aws-Request-Id")
    c.request("POST", f"/2018-06-01/runtime/invocation/{{rid}}/response", body=b'{{"ok": true}}')
    c.getresponse().read()
"""
TUTORIAL = """#!/bin/sh
set -euo pipefail
source $LAMBDA_TASK_ROOT/"$(echo $_HANDLER | cut -d. -f1).sh"
while true
do
  HEADERS="$(mktemp)"
  EVENT_DATA=$(curl -sS -LD "$HEADERS" "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  RESPONSE=$($(echo "$_HANDLER" | cut -d. -f2) "$EVENT_DATA")
  curl -sS "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$REQUEST_ID/response" -d "$RESPONSE" >/dev/null
done
"""
SH_FUNCTION = "function handler () {\n  echo '{\"ok\": true}'\n}\n"
EXTENSION = f"""#!{PY} -S
import json, os, urllib.request
api = os.environ["AWS_LAMBDA_RUNTIME_API"]
req = urllib.request.Request(f"http://{{api}}/2020-01-01/extension/register", method="POST",
    data=json.dumps({{"events": ["INVOKE"]}}).encode(), headers={{"Lambda-Extension-Name": "ext"}})
ext = urllib.request.urlopen(req).headers["Lambda-Extension-Identifier"]
while True:
    urllib.request.urlopen(urllib.request.Request(
        f"http://{{api}}/2020-01-01/extension/event/next",
        headers={{"Lambda-Extension-Identifier": ext}})).read()
"""


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100.0 * (len(xs) - 1)))]


def write(path: str, text: str, mode: int = 0o644) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


@dataclass
class Case:
    name: str
    runtime: str
    handler: str
    code: str
    launch: Launch | None
    opt: str | None = None


def cases(root: str) -> list[Case]:
    out: list[Case] = []
    d = os.path.join(root, "py")
    write(os.path.join(d, "app.py"), HANDLER_PY)
    out.append(Case("builtin", "python3.12", "app.handler", d, None))
    d = os.path.join(root, "raw")
    write(os.path.join(d, "bootstrap"), RAW_CLIENT, 0o755)
    out.append(
        Case("raw-http", "provided.al2023", "x.y", d, launch_for("provided.al2023", d, None))
    )
    try:
        import awslambdaric  # noqa: F401

        d = os.path.join(root, "ric")
        write(os.path.join(d, "app.py"), HANDLER_PY)
        write(
            os.path.join(d, "bootstrap"),
            f'#!/bin/sh\nexec {PY} -m awslambdaric "$_HANDLER"\n',
            0o755,
        )
        out.append(
            Case(
                "awslambdaric",
                "provided.al2023",
                "app.handler",
                d,
                launch_for("provided.al2023", d, None),
            )
        )
    except ImportError:
        print("(awslambdaric not installed: skipped)")
    if shutil.which("curl"):
        d = os.path.join(root, "sh")
        write(os.path.join(d, "bootstrap"), TUTORIAL, 0o755)
        write(os.path.join(d, "function.sh"), SH_FUNCTION)
        out.append(
            Case(
                "shell-curl",
                "provided.al2023",
                "function.handler",
                d,
                launch_for("provided.al2023", d, None),
            )
        )
    node = shutil.which("node")
    if node:
        d = os.path.join(root, "node")
        write(os.path.join(d, "index.js"), HANDLER_JS)
        out.append(
            Case(
                "node",
                "nodejs20.x",
                "index.handler",
                d,
                Launch("node", argv=(node, node_bootstrap())),
            )
        )
    d, opt = os.path.join(root, "pyext"), os.path.join(root, "opt")
    write(os.path.join(d, "app.py"), HANDLER_PY)
    write(os.path.join(opt, "extensions", "ext"), EXTENSION, 0o755)
    out.append(
        Case("py+ext", "python3.12", "app.handler", d, launch_for("python3.12", d, None, opt), opt)
    )
    return out


def spec(case: Case, key: str) -> EnvSpec:
    environ = {
        "_HANDLER": case.handler,
        "LAMBDA_TASK_ROOT": case.code,
        "AWS_LAMBDA_FUNCTION_NAME": key,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{case.runtime}",
        "LANG": "C.UTF-8",
    }
    return EnvSpec(
        key=key,
        function_name=key,
        version="$LATEST",
        code_dir=case.code,
        handler=case.handler,
        runtime=case.runtime,
        memory_mb=128,
        timeout_s=10,
        ephemeral_mb=512,
        environ=environ,
        launch=case.launch,
        opt_dir=case.opt,
    )


def req(i: int) -> InvokeRequest:
    return InvokeRequest(f"req-{i}", b'{"hello": "world"}', "arn:aws:lambda:::function:x")


def pss_mb(pgid: int) -> float:
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.getpgid(int(pid)) != pgid:
                continue
            with open(f"/proc/{pid}/smaps_rollup") as f:
                total += next(int(x.split()[1]) for x in f if x.startswith("Pss:"))
        except (OSError, StopIteration):
            continue
    return total / 1024


async def measure(m: EnvironmentManager, case: Case, n_cold: int, n_warm: int) -> list[str]:
    cold, init, platform = [], [], []
    for i in range(n_cold):
        key = f"{case.name}-cold-{i}"
        t = time.perf_counter()
        r = await m.invoke(spec(case, key), req(i))
        cold.append((time.perf_counter() - t) * 1000)
        assert r.outcome is Outcome.SUCCESS and r.cold_start, (case.name, r)
        init.append(r.init_duration_ms or 0.0)
        platform.append(cold[-1] - init[-1] - r.duration_ms)
        m.discard(key)
        await asyncio.sleep(0.02)
    s = spec(case, f"{case.name}-warm")
    await m.invoke(s, req(0))
    warm, duration = [], []
    for i in range(n_warm):
        t = time.perf_counter()
        r = await m.invoke(s, req(i))
        warm.append((time.perf_counter() - t) * 1000)
        duration.append(r.duration_ms)
    await asyncio.sleep(0.2)
    pids = [e.pid for e in m.snapshot() if e.key == s.key]
    mem = pss_mb(pids[0]) if pids else 0.0
    over = [w - d for w, d in zip(warm, duration, strict=True)]
    return [
        case.name,
        f"{pct(cold, 50):.1f} / {pct(cold, 99):.1f}",
        f"{statistics.median(init):.1f}",
        f"{statistics.median(platform):.2f}",
        f"{pct(warm, 50):.2f} / {pct(warm, 99):.2f}",
        f"{statistics.median(duration):.2f}",
        f"{pct(over, 50):.3f} / {pct(over, 99):.3f}",
        f"{mem:.1f}",
    ]


async def run(args: argparse.Namespace, root: str) -> list[list[str]]:
    m = EnvironmentManager(SandboxSettings(work_dir=os.path.join(root, "work"), pool_size=3))
    await m.start()
    rows = []
    try:
        for case in cases(root):
            if args.only and case.name not in args.only:
                continue
            rows.append(await measure(m, case, args.cold, args.warm))
    finally:
        await m.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    args.cold, args.warm = (10, 100) if args.quick else (40, 1000)
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR", "/var/tmp")) as root:
        rows = asyncio.run(run(args, root))
    head = [
        "runtime",
        "cold p50/p99 ms",
        "init p50",
        "cold platform p50",
        "warm p50/p99 ms",
        "duration p50",
        "overhead p50/p99 ms",
        "idle PSS MB",
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for row in [head, *rows]:
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    print(
        f"({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; cold n={args.cold}, "
        f"warm n={args.warm})"
    )


if __name__ == "__main__":
    main()
