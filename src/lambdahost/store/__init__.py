"""Persistence: one store layer with SQLite (default) and PostgreSQL dialects.

``open_store(url)`` returns a ``Store`` whose repositories (functions, code,
event queue) share one connection. A ``Store`` is used from one thread at a
time; ``lambdahost.app.storethread`` runs it on a dedicated thread.
"""

from lambdahost.store.db import Database, open_database
from lambdahost.store.repos import Store, open_store

__all__ = ["Database", "Store", "open_database", "open_store"]
