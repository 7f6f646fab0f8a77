"""Creating, emptying and dropping the app's tables, bind by bind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine, MetaData

from .dialects import backend_for


def binds(db: Any) -> Iterator[tuple[str | None, Engine, MetaData]]:
    """Each bind key of the current app with its engine and its tables."""
    for key, engine in db.engines.items():
        metadata = db.metadatas.get(key)
        if metadata is not None:
            yield key, engine, metadata


def create_schema(db: Any) -> None:
    """Drop what a crashed earlier run may have left, then create every table."""
    for _key, engine, metadata in binds(db):
        with engine.begin() as connection:
            with backend_for(engine).foreign_keys_off(connection):
                metadata.drop_all(connection)
            metadata.create_all(connection)


def drop_schema(db: Any) -> None:
    for _key, engine, metadata in binds(db):
        with engine.begin() as connection, backend_for(engine).foreign_keys_off(connection):
            metadata.drop_all(connection)


def empty_metadata(connection: Connection, metadata: MetaData) -> None:
    """Delete every row of every table of ``metadata`` on ``connection``."""
    backend_for(connection).empty_tables(connection, metadata.sorted_tables)


def empty_all(db: Any) -> None:
    """Empty every table of every bind, each bind in one committed transaction."""
    for _key, engine, metadata in binds(db):
        with engine.begin() as connection:
            empty_metadata(connection, metadata)


def reset_sequences(db: Any) -> None:
    """Restart the id counters of every bind, each in a committed transaction of its own."""
    for _key, engine, metadata in binds(db):
        with engine.begin() as connection:
            backend_for(engine).reset_sequences(connection, metadata.sorted_tables)
