"""Creating and dropping whole test databases on a server."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL

from .dialects import Backend, CannotClone, backend_for
from .naming import is_in_memory

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
    return admin, backend


def ensure_database(url: URL) -> bool:
    """Create the database ``url`` names when it does not exist; True if it was created."""
    if url.get_backend_name() == "sqlite" or not url.database:
        return False  # SQLite creates its file on the first connection
    admin, backend = on_server(url)
    try:
        with admin.connect() as connection:
            if backend.database_exists(connection, url.database):
                return False
            try:
                backend.create_database(connection, url.database)
            except sa.exc.DBAPIError:
                # Another worker or run created it a moment ago: that is fine.
                if backend.database_exists(connection, url.database):
                    return False
                raise
            return True
    finally:
        admin.dispose()


def drop_database(url: URL, files: bool = False) -> None:
    """Drop the database ``url`` names; an SQLite file only with ``files``."""
    if url.get_backend_name() == "sqlite":
        if files and not is_in_memory(url):
            for suffix in ("", *_SQLITE_COMPANIONS):
                Path(f"{url.database}{suffix}").unlink(missing_ok=True)
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

    Raises :class:`~.dialects.CannotClone` when the backend cannot copy this
    database faithfully.
    """
    if source.get_backend_name() == "sqlite":
        if is_in_memory(source) or is_in_memory(target):
            raise CannotClone("an in-memory database is private to its process")
        if not Path(source.database).is_file():
            raise CannotClone(f"{source.database} does not exist")
        drop_database(target, files=True)
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
