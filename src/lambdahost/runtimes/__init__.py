"""Which runtime a function's ``Runtime`` names, and how its environment starts it.

Pure decisions plus locating files: ``python3.x`` runs on the built-in fast runtime
(``lambdahost.sandbox.runtime``, no ``Launch``); ``provided.al2``/``provided.al2023``
run the function's own ``bootstrap`` (from the code, then ``/opt``) through the Lambda
Runtime API, with ``/bin/sh`` as bash as on Amazon Linux; ``nodejs18.x``-``22.x`` run
``node`` with the bootstrap shipped here (``node/bootstrap.js``, a Runtime API client).
Python functions with external extensions run the built-in runtime as a Runtime API
client (``lambdahost.sandbox.pyclient``), since extensions need that lifecycle.
A bootstrap may itself start ``python -m awslambdaric module.handler``: that is just a
``provided`` function.
"""

from __future__ import annotations

import enum
import os
import shutil
import sys
from importlib import resources

from lambdahost.sandbox import pyclient
from lambdahost.sandbox.types import Launch

PROVIDED_RUNTIMES = ("provided.al2", "provided.al2023")
NODE_RUNTIMES = ("nodejs18.x", "nodejs20.x", "nodejs22.x")
NODE_ENV_VAR = "LAMBDAHOST_NODE"  # the node binary to use (default: ``node`` on PATH)


class RuntimeKind(enum.Enum):
    PYTHON = "python"  # built-in fast runtime
    PROVIDED = "provided"  # the function's bootstrap
    NODE = "node"  # node + lambdahost's Node.js bootstrap


class RuntimeUnavailable(Exception):
    """The runtime needs a program this host does not have (e.g. node)."""


def kind_of(runtime: str) -> RuntimeKind:
    if runtime.startswith("python"):
        return RuntimeKind.PYTHON
    if runtime in PROVIDED_RUNTIMES:
        return RuntimeKind.PROVIDED
    if runtime in NODE_RUNTIMES:
        return RuntimeKind.NODE
    raise ValueError(f"no runtime implementation for {runtime}")


def node_bootstrap() -> str:
    """Path of the shipped Node.js bootstrap (package data)."""
    return str(resources.files("lambdahost.runtimes").joinpath("node", "bootstrap.js"))


def find_node(environ: dict[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    configured = env.get(NODE_ENV_VAR)
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("node", path=env.get("PATH"))


def has_extensions(opt_dir: str | None) -> bool:
    """Whether a function's layers bring external extensions (``/opt/extensions/*``)."""
    if not opt_dir:
        return False
    try:
        return any(e.is_file() for e in os.scandir(os.path.join(opt_dir, "extensions")))
    except OSError:
        return False


def launch_for(
    runtime: str,
    code_dir: str,
    node: str | None,
    opt_dir: str | None = None,
    max_concurrency: int = 1,
) -> Launch | None:
    """The ``Launch`` of a runtime (None: built-in Python). Raises ``RuntimeUnavailable``.

    Python functions with external extensions run the built-in runtime's Runtime API
    client (``sandbox/pyclient.py``): extensions need the Runtime API's lifecycle. So do
    Python functions serving several invocations per environment (Managed Instances):
    the client forks one worker per concurrent invocation.
    """
    kind = kind_of(runtime)
    if kind is RuntimeKind.PYTHON:
        if has_extensions(opt_dir) or max_concurrency > 1:
            return Launch("python", argv=pyclient.argv(sys.executable))
        return None
    if kind is RuntimeKind.PROVIDED:
        return Launch(
            "provided",
            bootstrap=(os.path.join(code_dir, "bootstrap"), "/opt/bootstrap"),
            bash_sh=True,
        )
    if node is None:
        raise RuntimeUnavailable(
            f"The runtime {runtime} needs Node.js, but node was not found on this lambdahost "
            f"server (install node, or set {NODE_ENV_VAR} to its path)."
        )
    return Launch("node", argv=(node, node_bootstrap()))


def node_path_entries(runtime: str) -> str:
    """``NODE_PATH`` as Lambda sets it for ``nodejsNN.x`` (layers first)."""
    major = runtime.removeprefix("nodejs").split(".", 1)[0]
    return f"/opt/nodejs/node{major}/node_modules:/opt/nodejs/node_modules"
