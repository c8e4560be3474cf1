"""Fixtures of the sandbox integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sandbox.helpers import FNS


@pytest.fixture()
def code(tmp_path: Path) -> str:
    d = tmp_path / "code"
    d.mkdir()
    (d / "fns.py").write_text(FNS)
    (d / "initfail.py").write_text("raise RuntimeError('config missing')\n")
    (d / "syntax.py").write_text("x = 1\ndef f(:\n    pass\n")
    pkg = d / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text("def fn(event, context):\n    return 'nested'\n")
    return str(d)
