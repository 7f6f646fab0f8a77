"""One test run per test database at a time.

Two runs against the same server (two terminals, two CI jobs) would drop and
empty each other's tables. Each run holds a lock named after its database for
its whole length: a server advisory lock (``pg_advisory_lock`` / ``GET_LOCK``),
which the server releases by itself when a killed run's connection goes, or a
file lock beside an SQLite file. A second run says that it waits, and waits.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .naming import is_in_memory
from .servers import on_server
from .urls import masked


class RunLock:
    def __init__(self, url: sa.engine.URL) -> None:
        self.url = url
        self._held: Any = None

    def acquire(self, say: Callable[[str], None]) -> bool:
        """Take the lock; True when another run held it and this one waited."""
        if is_in_memory(self.url):
            return False
        name = f"flask-testbed:{self.url.database}"
        message = f"another test run is using {masked(self.url)}; waiting for it to finish"
        if self.url.get_backend_name() == "sqlite":
            handle = open(Path(f"{self.url.database}.testbed-lock"), "w")  # noqa: SIM115
            waited = False
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                say(message)
                fcntl.flock(handle, fcntl.LOCK_EX)
                waited = True
            self._held = handle
            return waited
        # Held from the server's maintenance database: a connection to the test
        # database itself would keep PostgreSQL from cloning it as a template.
        engine, backend = on_server(self.url)
        connection = engine.connect()
        waited = not backend.try_lock(connection, name)
        if waited:
            say(message)
            backend.lock(connection, name)
        connection.commit()
        self._held = (engine, connection)
        return waited

    def release(self) -> None:
        held, self._held = self._held, None
        if held is None:
            return
        if isinstance(held, tuple):
            engine, connection = held
            connection.close()  # the server releases the lock with the session
            engine.dispose()
        else:
            held.close()
