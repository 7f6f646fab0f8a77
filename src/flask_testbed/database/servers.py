"""Creating and dropping whole test databases on a server."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import URL

from .dialects import backend_for


def _on_server(url: URL):
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
    admin, backend = _on_server(url)
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


def drop_database(url: URL) -> None:
    if url.get_backend_name() == "sqlite" or not url.database:
        return
    admin, backend = _on_server(url)
    try:
        with admin.connect() as connection:
            backend.drop_database(connection, url.database)
    finally:
        admin.dispose()
