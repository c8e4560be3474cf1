"""Which runtime runs a function, and how its environment starts it."""

from __future__ import annotations

import os

import pytest

from lambdahost.runtimes import (
    RuntimeKind,
    RuntimeUnavailable,
    find_node,
    kind_of,
    launch_for,
    node_bootstrap,
    node_path_entries,
)


def test_kinds() -> None:
    assert kind_of("python3.12") is RuntimeKind.PYTHON
    assert kind_of("provided.al2023") is kind_of("provided.al2") is RuntimeKind.PROVIDED
    assert {kind_of(r) for r in ("nodejs18.x", "nodejs20.x", "nodejs22.x")} == {RuntimeKind.NODE}
    with pytest.raises(ValueError):
        kind_of("java21")


def test_python_runs_on_the_built_in_runtime() -> None:
    assert launch_for("python3.12", "/code", None) is None


def test_provided_looks_for_the_bootstrap_in_the_code_then_opt() -> None:
    launch = launch_for("provided.al2023", "/code", None)
    assert launch is not None and launch.argv == ()
    assert launch.bootstrap == ("/code/bootstrap", "/opt/bootstrap") and launch.bash_sh


def test_node_needs_node() -> None:
    launch = launch_for("nodejs20.x", "/code", "/usr/bin/node")
    assert launch is not None and launch.argv == ("/usr/bin/node", node_bootstrap())
    assert os.path.isfile(node_bootstrap())
    with pytest.raises(RuntimeUnavailable, match="node was not found"):
        launch_for("nodejs22.x", "/code", None)


def test_find_node_honours_the_override(tmp_path: object) -> None:
    assert find_node({"LAMBDAHOST_NODE": "/nonexistent/node"}) is None
    assert find_node({"PATH": "/nonexistent"}) is None
    assert find_node({"LAMBDAHOST_NODE": "/bin/sh"}) == "/bin/sh"


def test_node_path_puts_the_version_folder_first() -> None:
    assert node_path_entries("nodejs20.x") == (
        "/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules"
    )
