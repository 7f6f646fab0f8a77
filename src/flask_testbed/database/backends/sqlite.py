"""SQLite (pysqlite): what differs from the other backends, and the driver hooks it needs.

A test database here is a file or memory, not a server's: the driver's own
transaction handling is taken away so that savepoints isolate tests, and the
connection is shared with the app's threads.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from sqlalchemy import Connection, Engine, Table, event

from .base import Backend, Relation


class SQLiteBackend(Backend):
    name = "sqlite"
    # 13% slower per request after 3,000 requests left their savepoints; a
    # RELEASE costs a microsecond here.
    releases_rolled_back_savepoints = True
    # ROLLBACK TO costs SQLite in proportion to every page the transaction has
    # touched so far, rolled back or not: over a run of tests that spread their
    # writes across a large schema it grows to a millisecond. ROLLBACK forgets them.
    restarts_outer_transaction = True

    def prepare_engine(self, engine: Engine) -> None:
        # pysqlite (before Python 3.12) emits no BEGIN of its own, so a SAVEPOINT
        # would start and a RELEASE commit a real transaction: take transaction
        # control away from the driver and let SQLAlchemy emit BEGIN itself.
        # The pinned connection is also shared with the app's other threads.
        if event.contains(engine, "connect", _sqlite_on_connect):
            return
        event.listen(engine, "do_connect", _sqlite_allow_threads)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        # Connections opened before the listeners existed lack the fix.
        engine.dispose()

    def empty_tables(self, connection: Connection, tables: Sequence[Table]) -> None:
        # Deferred checks let the deletes run in any order when foreign keys are on.
        connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        super().empty_tables(connection, tables)

    @contextlib.contextmanager
    def foreign_keys_off(self, connection: Connection) -> Iterator[None]:
        connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        yield

    def is_lock_timeout(self, error: BaseException) -> bool:
        return "database is locked" in str(error)

    def schema_target(self, schema: str, twin: str) -> str | None:
        # A schema is a database file the app attaches itself, which the run
        # cannot redirect: its tables live in the test database instead.
        return schema if schema.lower() in ("main", "temp") else None

    def list_relations(self, connection: Connection, schemas: Sequence[str]) -> list[Relation]:
        quote = connection.dialect.identifier_preparer.quote_schema
        query = " UNION ALL ".join(
            f"SELECT {_sql_string(schema)}, name, type FROM {quote(schema)}.sqlite_master "
            "WHERE type IN ('table', 'view') AND substr(name, 1, 7) <> 'sqlite_'"
            for schema in schemas
        )
        return [Relation(*row) for row in connection.exec_driver_sql(query)]

    def lock_holders(self, connection: Connection) -> str:
        return "another connection to the same SQLite file (an open transaction)"

    def reset_sequences(self, connection: Connection, tables: Sequence[Table]) -> None:
        # Plain INTEGER PRIMARY KEY already reuses max + 1; only AUTOINCREMENT
        # tables remember more, in sqlite_sequence, which is transactional.
        exists = connection.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'"
        ).first()
        if exists:
            connection.exec_driver_sql("DELETE FROM sqlite_sequence")


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sqlite_allow_threads(dialect, connection_record, cargs, cparams) -> None:
    cparams["check_same_thread"] = False


def _sqlite_on_connect(dbapi_connection, connection_record) -> None:
    dbapi_connection.isolation_level = None
    # In WAL mode a test's open read transaction does not block the app's
    # commits from another connection (a thread, the truncate strategy).
    dbapi_connection.execute("PRAGMA journal_mode=WAL")


def _sqlite_on_begin(connection: Connection) -> None:
    # Two Connections can share one DBAPI connection (StaticPool, in memory):
    # the second joins the transaction as pysqlite itself would have.
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return  # no transaction wanted: each statement commits by itself
    if not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN")
