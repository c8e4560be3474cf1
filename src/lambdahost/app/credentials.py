"""Root credentials: from the environment, or generated once and kept in the data dir."""

from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

CREDENTIALS_FILE = "credentials.json"


@dataclass(frozen=True)
class RootKeys:
    access_key_id: str
    secret_access_key: str


def _new_access_key() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "LHIA" + "".join(secrets.choice(alphabet) for _ in range(16))


def load_or_create(data_dir: Path, access_key_id: str | None, secret: str | None) -> RootKeys:
    """Explicit keys win; else the saved pair; else a new pair saved with mode 0600."""
    if access_key_id and secret:
        return RootKeys(access_key_id, secret)
    path = data_dir / CREDENTIALS_FILE
    if path.exists():
        saved = json.loads(path.read_text())
        return RootKeys(saved["access_key_id"], saved["secret_access_key"])
    keys = RootKeys(_new_access_key(), secrets.token_urlsafe(30))
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as sink:
        json.dump(
            {"access_key_id": keys.access_key_id, "secret_access_key": keys.secret_access_key}, sink
        )
    return keys


def read_saved(data_dir: Path) -> RootKeys | None:
    path = data_dir / CREDENTIALS_FILE
    if not path.exists():
        return None
    saved = json.loads(path.read_text())
    return RootKeys(saved["access_key_id"], saved["secret_access_key"])
