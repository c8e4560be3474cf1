"""Server settings, read once into a frozen dataclass and passed down."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"


def default_data_dir() -> Path:
    env = os.environ.get("LAMBDAHOST_DATA_DIR")
    if env:
        return Path(env)
    return Path.home() / ".lambdahost"


@dataclass(frozen=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    data_dir: Path = field(default_factory=default_data_dir)
    store_url: str | None = None  # None: sqlite in data_dir
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT
    auth: bool = True
    access_key_id: str | None = None  # None: from env or generated on first start
    secret_access_key: str | None = None
    idle_timeout_s: float = 600.0
    max_environments: int = 1000
    # Memory environments may really use together (sampled cgroup charge or RSS, not
    # MemorySize, which is far above real use). None: 75% of the host's memory; 0: no budget.
    memory_budget_mb: int | None = None
    sync_payload_limit: int = 6_291_456
    async_payload_limit: int = 1_048_576
    event_workers: int = 8
    account_concurrency: int = 1000
    event_time_scale: float = 1.0

    @property
    def endpoint(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{self.data_dir / 'lambdahost.db'}"


def host_memory_mb() -> int | None:
    """The memory this server may use: the host's (MemTotal), or less when its own memory
    cgroup (a container's limit) says so; None where neither can be read."""
    total: int | None = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    total = int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        total = None
    limit = _own_cgroup_limit_mb()
    if limit is not None and (total is None or limit < total):
        return limit
    return total


def _own_cgroup_limit_mb() -> int | None:
    from lambdahost.sandbox.cgroups import own_memory_cgroup

    try:
        with open("/proc/self/cgroup") as f:
            found = own_memory_cgroup(f.read())
        if found is None:
            return None
        version, path = found
        name = "memory.limit_in_bytes" if version == 1 else "memory.max"
        with open(f"{path}/{name}") as f:
            text = f.read().strip()
    except OSError:
        return None
    if not text.isdigit():
        return None  # "max": no limit
    return int(text) >> 20


def effective_memory_budget(configured: int | None) -> int | None:
    """The sandbox's memory budget in MB for a configured value (see ``memory_budget_mb``)."""
    if configured is None:
        total = host_memory_mb()
        return None if total is None else total * 3 // 4
    return configured if configured > 0 else None
