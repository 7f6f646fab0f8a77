"""Which databases the plugin made: the only ones a run may drop whole.

A run that makes a database (an automatic ``test_<name>``, a slot, a worker's
copy, an SQLite file) leaves a mark in it, a table of its own. A later run
that finds the mark knows a plugin run made that database, even if that run
was killed before it could drop it, and may drop it in turn; a database
without the mark (one the user made, even with a test name) is used, never
dropped.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL

from .own_engines import keep_apart
from .urls import is_in_memory, sqlite_path

#: the table that marks a database as made by a plugin run
MARK = "testbed_made_by_run"
_CREATE = f"CREATE TABLE IF NOT EXISTS {MARK} (note VARCHAR(100))"
_NOTE = (
    f"INSERT INTO {MARK} (note) VALUES "
    "('made by a flask-testbed run: a later run may drop it')"
)


def mark(url: URL) -> None:
    """Mark the database ``url`` names as made by this run (it exists, and is empty)."""
    if url.get_backend_name() == "sqlite":
        with _sqlite(url) as connection:
            connection.execute(_CREATE)
            connection.execute(_NOTE)
        return
    engine = keep_apart(sa.create_engine(url, poolclass=sa.pool.NullPool))
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(_CREATE)
            connection.exec_driver_sql(_NOTE)
    finally:
        engine.dispose()


def is_marked(url: URL) -> bool:
    """Whether a plugin run made the (existing) database ``url`` names."""
    if is_in_memory(url):
        return False
    if url.get_backend_name() == "sqlite":
        if not Path(sqlite_path(url)[1]).is_file():
            return False  # sqlite3.connect would make it
        with _sqlite(url) as connection:
            found = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (MARK,)
            ).fetchone()
        return found is not None
    engine = keep_apart(sa.create_engine(url, poolclass=sa.pool.NullPool))
    try:
        with engine.connect() as connection:
            return sa.inspect(connection).has_table(MARK)
    finally:
        engine.dispose()


@contextlib.contextmanager
def _sqlite(url: URL) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection to the file, committed on success and always closed."""
    prefix, path = sqlite_path(url)
    connection = sqlite3.connect(prefix + path, uri=bool(prefix))
    try:
        yield connection
        connection.commit()
    finally:
        connection.close()
