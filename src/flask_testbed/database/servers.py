"""Creating and dropping whole test databases on a server."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL

from . import ownership
from .backends import Backend, CannotClone, backend_for
from .schema import lock_timeout
from .urls import is_in_memory, sqlite_path

#: what SQLite keeps beside a database file in WAL mode
_SQLITE_COMPANIONS = ("-wal", "-shm")


def on_server(url: URL) -> tuple[sa.Engine, Backend]:
    """An AUTOCOMMIT engine where CREATE/DROP DATABASE can run, with its backend."""
    probe = sa.create_engine(url, poolclass=sa.pool.NullPool)
    backend = backend_for(probe)
    probe.dispose()
    admin = sa.create_engine(
        backend.maintenance_url(url), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
    )
    seconds = lock_timeout()
    # Nothing the plugin sends the server may wait forever (a DROP behind a lock).
    sa.event.listen(
        admin, "connect", lambda dbapi, _record: backend.limit_admin_waits(dbapi, seconds)
    )
    return admin, backend


def ensure_database(url: URL) -> bool:
    """Create the database ``url`` names when it is missing; True when it is the plugin's.

    The plugin's: made now, or marked by the earlier run that made it (one
    that was killed before it could drop it). Only those are ever dropped whole.
    """
    if is_in_memory(url):
        return False
    if url.get_backend_name() == "sqlite":
        if Path(sqlite_path(url)[1]).exists():
            return ownership.is_marked(url)
        Path(sqlite_path(url)[1]).parent.mkdir(parents=True, exist_ok=True)
        ownership.mark(url)  # SQLite makes the file on the first connection
        return True
    admin, backend = on_server(url)
    try:
        with admin.connect() as connection:
            if backend.database_exists(connection, url.database):
                return ownership.is_marked(url)
            try:
                backend.create_database(connection, url.database)
            except sa.exc.DBAPIError:
                # Created a moment ago by another process (a shared server in CI).
                if backend.database_exists(connection, url.database):
                    return ownership.is_marked(url)
                raise
    finally:
        admin.dispose()
    ownership.mark(url)
    return True


def database_exists(url: URL) -> bool:
    """Whether the database ``url`` names exists now (an SQLite file: on disk)."""
    if is_in_memory(url):
        return True
    if url.get_backend_name() == "sqlite":
        return Path(sqlite_path(url)[1]).is_file()
    admin, backend = on_server(url)
    try:
        with admin.connect() as connection:
            return backend.database_exists(connection, url.database or "")
    finally:
        admin.dispose()


def drop_database(url: URL) -> None:
    """Drop the database ``url`` names, an SQLite file with what SQLite keeps beside it."""
    if url.get_backend_name() == "sqlite":
        if not is_in_memory(url):
            path = sqlite_path(url)[1]
            for suffix in ("", *_SQLITE_COMPANIONS):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    if not url.database:
        return
    admin, backend = on_server(url)
    try:
        with admin.connect() as connection:
            backend.drop_database(connection, url.database)
    finally:
        admin.dispose()


def clone_database(source: URL, target: URL) -> None:
    """Make ``target`` a copy of ``source``; nothing may be connected to either.

    Raises :class:`~.backends.CannotClone` when the backend cannot copy this
    database faithfully.
    """
    if source.get_backend_name() == "sqlite":
        if is_in_memory(source) or is_in_memory(target):
            raise CannotClone("an in-memory database is private to its process")
        if not Path(source.database).is_file():
            raise CannotClone(f"{source.database} does not exist")
        drop_database(target)
        original, copy = sqlite3.connect(source.database), sqlite3.connect(target.database)
        try:
            # The backup API copies a consistent snapshot, WAL content included.
            original.backup(copy)
        finally:
            copy.close()
            original.close()
        return
    admin, backend = on_server(target)
    try:
        with admin.connect() as connection:
            backend.clone_database(connection, source.database, target.database)
    finally:
        admin.dispose()

