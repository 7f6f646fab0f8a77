"""Creating, emptying and dropping the app's tables, bind by bind."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, MetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import close_all_sessions

from ..errors import TestbedError
from . import fingerprint
from .backends import backend_for
from .inventory import MIGRATION_VERSIONS, Inventory
from .urls import is_in_memory, masked

#: how long the plugin's own DDL and cleanup wait for a lock before they give up
DEFAULT_LOCK_TIMEOUT = 10


def lock_timeout() -> int:
    value = os.environ.get("TESTBED_LOCK_TIMEOUT", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_LOCK_TIMEOUT


def binds(db: Any) -> Iterator[tuple[str | None, Engine, MetaData]]:
    """Each bind key of the current app with its engine and its tables."""
    for key, engine in db.engines.items():
        metadata = db.metadatas.get(key)
        if metadata is not None:
            yield key, engine, metadata


@contextlib.contextmanager
def maintenance(engine: Engine) -> Iterator[Connection]:
    """A committed transaction for the plugin's own DDL and cleanup.

    Every session the plugin can reach is closed first (on PostgreSQL a DROP or
    TRUNCATE would otherwise wait forever behind one left idle in a
    transaction), and a lock that is still held fails within seconds with a
    message that names its holder, instead of hanging the run.
    """
    close_all_sessions()
    backend = backend_for(engine)
    seconds = lock_timeout()
    with engine.connect() as connection:
        try:
            with connection.begin():
                backend.limit_lock_wait(connection, seconds)
                yield connection
        except DBAPIError as exc:
            if not backend.is_lock_timeout(exc):
                raise
            connection.rollback()
            holders = backend.lock_holders(connection)
            raise TestbedError(
                f"cleanup of {masked(engine.url)} waited {seconds} s for a lock "
                f"held by {holders}: something outside the test's isolation kept a transaction "
                "open (a session or connection a fixture made itself, or another test run on "
                "the same database); close it before the test ends"
            ) from None
        finally:
            _lift_lock_wait(connection)


def _lift_lock_wait(connection: Connection) -> None:
    """The plugin's lock waits never reach the app: the pool hands this connection out next.

    A connection that cannot have them lifted (the server dropped it) is never
    handed out again.
    """
    if connection.invalidated or connection.closed:
        return
    try:
        if connection.in_transaction():
            connection.rollback()
        # Not transactional: the pool's reset of the connection keeps it.
        backend_for(connection).lift_lock_wait(connection)
    except DBAPIError:
        connection.invalidate()


@dataclass(frozen=True)
class Migrations:
    """Build the schema with the app's migrations rather than ``create_all``."""

    head: str
    upgrade: Callable[[], None]


def create_schema(
    db: Any,
    reuse: bool = False,
    migrations: Migrations | None = None,
    cloned: Collection[str | None] = (),
    inventory: Inventory | None = None,
) -> bool:
    """Create every table; True when an existing, current schema was reused instead.

    Without ``reuse``, whatever an earlier (perhaps killed) run left is dropped
    first. With it, a schema whose fingerprint (the DDL of the models, or the
    migration head) matches is kept and only emptied, so a killed run's rows
    cannot change this run's results. The binds in ``cloned`` were just copied
    from a template: kept as they are when their fingerprint matches.

    Before the models' tables are dropped, so is what the run made beside
    them, as far as the ``inventory`` tells (see :mod:`.inventory`).
    """
    inventory = inventory or Inventory()
    cleared: set[int] = set()
    stale = []
    for key, engine, metadata in binds(db):
        backend = backend_for(engine)
        current = _wanted(engine, metadata, migrations)
        if reuse or key in cloned:
            with maintenance(engine) as connection:
                if fingerprint.stored(connection, key) == current and _tables_present(
                    connection, metadata
                ):
                    if key not in cloned:
                        backend.empty_tables(connection, metadata.sorted_tables)
                    continue
        _drop_made(inventory, engine, cleared)
        with _blocked_drops(inventory, engine), maintenance(engine) as connection:
            with backend.foreign_keys_off(connection):
                metadata.drop_all(connection)
                connection.exec_driver_sql(f"DROP TABLE IF EXISTS {MIGRATION_VERSIONS}")
            if migrations is None:
                metadata.create_all(connection)
        stale.append((key, engine, current))
    if stale and migrations is not None:
        migrations.upgrade()
    for key, engine, current in stale:
        with maintenance(engine) as connection:
            fingerprint.store(connection, key, current)
    return not stale


def note_built(inventory: Inventory) -> None:
    """Right after the run built the schema: write down what the build made beside the tables."""
    for database in inventory:
        with maintenance(database.engine) as connection:
            database.note_built(connection)


def is_current(db: Any, key: str | None, migrations: Migrations | None = None) -> bool:
    """Whether bind ``key``'s database holds the schema this run wants."""
    engine, metadata = db.engines[key], db.metadatas.get(key)
    if metadata is None:
        return True
    with engine.connect() as connection:
        return fingerprint.stored(
            connection, key
        ) == _wanted(engine, metadata, migrations) and _tables_present(connection, metadata)


def _tables_present(connection: Connection, metadata: MetaData) -> bool:
    """Whether the models' tables are there: the record says current, but a table may
    have gone since (dropped by hand, by a test, by a run killed mid-drop). One query."""
    present = set(sa.inspect(connection).get_table_names())
    return all(table.name in present for table in metadata.tables.values() if table.schema is None)


def _wanted(engine: Engine, metadata: MetaData, migrations: Migrations | None) -> str:
    return migrations.head if migrations else fingerprint.of_schema(metadata, engine.dialect)


def drop_schema(db: Any, inventory: Inventory | None = None, keep_tables: bool = False) -> None:
    """Drop what the run made: the tables and views it made, then the models' tables.

    With ``keep_tables`` (``--reuse-db``) the models' tables stay, and so does
    what the schema build made beside them; what the tests made goes all the same.
    """
    inventory = inventory or Inventory()
    cleared: set[int] = set()
    for _key, engine, metadata in binds(db):
        if is_in_memory(engine.url):
            continue  # it lives in its one connection, closed with the engine: nothing to drop
        _drop_made(inventory, engine, cleared, keep_built=keep_tables)
        if keep_tables:
            continue
        with (
            _blocked_drops(inventory, engine),
            maintenance(engine) as connection,
            backend_for(engine).foreign_keys_off(connection),
        ):
            metadata.drop_all(connection)
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {MIGRATION_VERSIONS}")
            fingerprint.forget(connection)
            database = inventory.database(engine)
            if database is not None:
                database.forget_built(connection)


def _drop_made(
    inventory: Inventory, engine: Engine, cleared: set[int], keep_built: bool = False
) -> None:
    """Drop what the run made in ``engine``'s database beside the models' tables, once.

    In a committed transaction of its own, before the models' tables: should
    their drop be blocked, what the tests made must not stay behind for the
    next run to take for a user's.
    """
    database = inventory.database(engine)
    if database is None or id(database) in cleared:
        return
    cleared.add(id(database))
    with maintenance(engine) as connection:
        database.drop_made(connection, keep_built)


@contextlib.contextmanager
def _blocked_drops(inventory: Inventory, engine: Engine) -> Iterator[None]:
    """Turn a drop of the models' tables that another object blocks into one line naming it.

    The models' tables are never dropped with CASCADE: that would take a
    user's view with them. The failed drop was rolled back whole (PostgreSQL,
    the one backend where a drop can be blocked, rolls DDL back).
    """
    try:
        yield
    except DBAPIError as exc:
        if not backend_for(engine).is_blocked_drop(exc):
            raise
        raise inventory.blocked(engine, exc) from None


def empty_metadata(connection: Connection, metadata: MetaData) -> None:
    """Delete every row of every table of ``metadata`` on ``connection``."""
    backend_for(connection).empty_tables(connection, metadata.sorted_tables)


def empty_all(db: Any) -> None:
    """Empty every table of every bind, each bind in one committed transaction."""
    for _key, engine, metadata in binds(db):
        with maintenance(engine) as connection:
            empty_metadata(connection, metadata)


def restore_schema(db: Any, inventory: Inventory | None = None) -> None:
    """Every bind back to the schema the run built, with no rows: after a test committed for real.

    On MariaDB/MySQL a test's DDL commits (``db.drop_all()``, ``create_all()``,
    a ``CREATE TABLE``): the models' tables may be gone, and tables the test
    made are there for good. The missing models' tables are created again,
    what the run made beside them is dropped (the ``inventory`` says which:
    never a user's), and every table is emptied. Where the schema is whole
    this costs one look at the catalogue per bind more than emptying alone.
    """
    inventory = inventory or Inventory()
    cleared: set[int] = set()
    for _key, engine, metadata in binds(db):
        _drop_made(inventory, engine, cleared, keep_built=True)
        with maintenance(engine) as connection:
            metadata.create_all(connection)  # checkfirst: only the tables that are gone
            empty_metadata(connection, metadata)


def reset_sequences(db: Any) -> None:
    """Restart the id counters of every bind, each in a committed transaction of its own."""
    for _key, engine, metadata in binds(db):
        with maintenance(engine) as connection:
            backend_for(engine).reset_sequences(connection, metadata.sorted_tables)
