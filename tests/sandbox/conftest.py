"""Fixtures of the sandbox integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sandbox.helpers import FNS

# Starts threads until the environment refuses one (or 1,200), then lets them all go.
THREADS = """
import threading
def handler(event, context):
    stop = threading.Event()
    started = []
    try:
        for _ in range(1200):
            t = threading.Thread(target=stop.wait, daemon=True)
            t.start()
            started.append(t)
    except RuntimeError:
        pass
    stop.set()
    for t in started:
        t.join()
    return len(started)
"""


@pytest.fixture()
def code(tmp_path: Path) -> str:
    d = tmp_path / "code"
    d.mkdir()
    (d / "fns.py").write_text(FNS)
    (d / "initfail.py").write_text("raise RuntimeError('config missing')\n")
    (d / "threads.py").write_text(THREADS)
    (d / "syntax.py").write_text("x = 1\ndef f(:\n    pass\n")
    pkg = d / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text("def fn(event, context):\n    return 'nested'\n")
    return str(d)
