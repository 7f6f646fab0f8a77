"""One test run per test database at a time.

Two runs against the same database (two terminals, two CI jobs on one server)
would drop and empty each other's tables. Each run holds a lock named after
its database for its whole length: a server advisory lock
(``pg_advisory_lock`` / ``GET_LOCK``), which the server releases by itself
when a killed run's connection goes, or a file lock beside an SQLite file,
which the kernel releases with the process. A run that may not take another
database (``--reuse-db`` keeps one stable name) says that it waits, and waits
up to ``TESTBED_RUN_LOCK_TIMEOUT`` seconds; the others take the next free name
instead (see :mod:`.naming`).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..errors import TestbedError
from .servers import on_server
from .urls import is_in_memory, masked, sqlite_path

#: beside an SQLite file: the file its run lock is taken on, removed when released
LOCK_SUFFIX = ".testbed-lock"

#: how long a run waits for another run's database (--reuse-db) before it gives up
DEFAULT_RUN_LOCK_TIMEOUT = 600


def run_lock_timeout() -> float:
    value = os.environ.get("TESTBED_RUN_LOCK_TIMEOUT", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return DEFAULT_RUN_LOCK_TIMEOUT
    return seconds if seconds > 0 else DEFAULT_RUN_LOCK_TIMEOUT


class RunLock:
    def __init__(self, url: sa.engine.URL) -> None:
        self.url = url
        self._held: Any = None

    def acquire(self, say: Callable[[str], None]) -> bool:
        """Take the lock, waiting for it if need be; True when this run waited."""
        if self.try_acquire():
            return False
        say(f"another test run is using {masked(self.url)}; waiting for it to finish")
        # Asked again and again rather than waited for in one call: a wait on the
        # server (GET_LOCK, pg_advisory_lock) or on flock() could outlast any
        # limit, and a run that hangs says nothing.
        seconds = run_lock_timeout()
        deadline = time.monotonic() + seconds
        pause = 0.1
        while not self._take():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestbedError(
                    f"another test run has held {masked(self.url)} for {seconds:g} s, and "
                    "--reuse-db waits for it: let that run finish (or stop it), run without "
                    "--reuse-db (a run then takes a database of its own), or wait longer "
                    "with TESTBED_RUN_LOCK_TIMEOUT=<seconds>"
                )
            time.sleep(min(pause, left))
            pause = min(pause * 2, 2.0)
        return True

    def try_acquire(self) -> bool:
        """Take the lock if no other run holds it."""
        if is_in_memory(self.url):
            return True
        return self._take()

    def _take(self) -> bool:
        """Take the lock if it is free, without waiting."""
        if self.url.get_backend_name() == "sqlite":
            return self._take_file()
        # Held from the server's maintenance database: a connection to the test
        # database itself would keep PostgreSQL from cloning it as a template.
        name = f"flask-testbed:{self.url.database}"
        engine, backend = on_server(self.url)
        connection = engine.connect()
        try:
            if not backend.try_lock(connection, name):
                connection.close()
                engine.dispose()
                return False
            connection.commit()
        except BaseException:
            connection.close()
            engine.dispose()
            raise
        self._held = (engine, connection)
        return True

    def _take_file(self) -> bool:
        path = Path(f"{sqlite_path(self.url)[1]}{LOCK_SUFFIX}")
        while True:
            handle = open(path, "a")  # noqa: SIM115 - held until release
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                return False
            # The run that held it may have removed the file before we locked
            # it: a lock on a file nobody else can open any more is no lock.
            try:
                same = os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._held = (path, handle)
                return True
            handle.close()

    def release(self) -> None:
        held, self._held = self._held, None
        if held is None:
            return
        first, second = held
        if isinstance(first, Path):
            # Removed while still locked, so that no lock files pile up: a run
            # waiting on this file finds it gone and opens a new one.
            first.unlink(missing_ok=True)
            second.close()
        else:
            second.close()  # the server releases the lock with the session
            first.dispose()
