"""Backend differences, in one place.

Each backend class answers the same few questions (how to prepare an engine,
how to empty tables, how to run DDL without foreign-key checks, how to send
several of the plugin's own statements at once); the rest of the plugin never
asks which database it talks to. The questions and their common answers are in
:mod:`.base`; each backend's own answers, driver hooks and fast-path detectors
are in its module.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from .base import Backend, Blocker, CannotClone, CannotMap, Relation, qualified_name
from .mysql import MySQLBackend
from .postgresql import PostgreSQLBackend
from .sqlite import SQLiteBackend

__all__ = [
    "Backend",
    "Blocker",
    "CannotClone",
    "CannotMap",
    "MySQLBackend",
    "PostgreSQLBackend",
    "Relation",
    "SQLiteBackend",
    "backend_for",
    "qualified_name",
]

_BACKENDS = {
    "sqlite": SQLiteBackend(),
    "postgresql": PostgreSQLBackend(),
    "mysql": MySQLBackend(),
    "mariadb": MySQLBackend(),
}


def backend_for(engine: Engine | Connection) -> Backend:
    return _BACKENDS.get(engine.dialect.name, Backend())
