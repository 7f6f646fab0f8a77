"""The schemas the models name, and where each of them lives during a test run.

A model with ``__table_args__ = {"schema": "shop"}`` reaches outside the
database the app's URL names. On MariaDB/MySQL a schema is another database of
the server, perhaps the production one: the run maps it to a test twin of its
own (``shop`` -> ``test_shop``, named like a test database, per slot and
xdist worker) through SQLAlchemy's ``schema_translate_map`` on the app's
engines, so sessions, raw connections and migrations all reach the twin. On
PostgreSQL a schema lives inside the test database: the run creates it there
and drops what it created. On SQLite a schema is a file the app attaches
itself, which the run cannot redirect: its tables live in the test database.
A schema with no safe place stops the run before any DDL.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, MetaData

from ..errors import TestbedError
from .backends import CannotMap, backend_for
from .urls import masked


def named_schemas(metadata: MetaData) -> list[str]:
    """The schemas the tables of ``metadata`` name explicitly."""
    return sorted({table.schema for table in metadata.tables.values() if table.schema})


def schema_map(
    engine: Engine, metadata: MetaData, twin: Callable[[str], str]
) -> dict[str, str | None]:
    """The ``schema_translate_map`` that keeps ``metadata``'s tables in test databases.

    ``twin`` names a schema's test twin. Schemas that stay as they are are
    left out; a schema the backend has no safe place for raises TestbedError.
    """
    backend = backend_for(engine)
    mapping: dict[str, str | None] = {}
    for schema in named_schemas(metadata):
        try:
            target = backend.schema_target(schema, twin(schema))
        except CannotMap as exc:
            raise TestbedError(
                f"refusing to create the tables of schema {schema!r} "
                f"({_tables_in(metadata, schema)}) for {masked(engine.url)}: {exc}; "
                "move those models to a schema of their own"
            ) from None
        if target != schema:
            mapping[schema] = target
    _check_distinct(engine, metadata, mapping)
    return mapping


def _check_distinct(engine: Engine, metadata: MetaData, mapping: dict[str, str | None]) -> None:
    places: dict[tuple[str | None, str], str] = {}
    for table in metadata.tables.values():
        place = (mapping.get(table.schema, table.schema), table.name)
        if place in places:
            raise TestbedError(
                f"refusing to map schema {table.schema or places[place]!r} for "
                f"{masked(engine.url)}: tables {places[place]} and {table.fullname} would be "
                "one table in the test database; give them different names"
            )
        places[place] = table.fullname


def _tables_in(metadata: MetaData, schema: str) -> str:
    return ", ".join(
        sorted(table.fullname for table in metadata.tables.values() if table.schema == schema)
    )
