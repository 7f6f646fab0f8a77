"""What every backend is asked, and the answers that hold unless a backend says otherwise.

The plugin's code calls :class:`Backend`'s methods on what
:func:`~flask_testbed.database.backends.backend_for` returns and never asks
which database it talks to: each backend's module answers differently only
where its database or driver does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, Table, inspect
from sqlalchemy.engine import URL


class Relation(NamedTuple):
    """A table or view, named as the database names it."""

    schema: str
    name: str
    #: "table", "view" or "materialized view"
    kind: str


class Blocker(NamedTuple):
    """An object that keeps a table from being dropped, because it depends on it."""

    #: the object in words: "view public.item_names"
    description: str
    #: the table or view it is or belongs to; None for other objects (a function...)
    relation: Relation | None
    #: the statement that drops it, or "" when there is no single one
    statement: str
    #: the table it keeps from being dropped
    table: str


class Backend:
    """Behaviour that holds on every backend unless a subclass says otherwise."""

    name = "default"
    #: whether CREATE/DROP/TRUNCATE stay inside a transaction (MySQL commits on them)
    transactional_ddl = True
    #: whether a savepoint SQLAlchemy rolled back to is released at once. ROLLBACK TO
    #: keeps the savepoint, and a test's transaction outlives its requests, so each
    #: request would leave one more level of nesting behind until the test ends:
    #: costly where every statement pays for the depth (see PostgreSQL)
    releases_rolled_back_savepoints = False

    def prepare_engine(self, engine: Engine) -> None:
        """Make the engine fit for savepoint isolation before its first connection."""

    def run_script(self, dbapi_connection, statements: Sequence[str]) -> None:
        """Send the plugin's own statements straight to the driver, bypassing SQLAlchemy.

        These are the per-test SAVEPOINT / ROLLBACK TO statements: they must
        cost no more than the driver does, and must not show up in the app's
        query events.
        """
        cursor = dbapi_connection.cursor()
        try:
            for statement in statements:
                cursor.execute(statement)
        finally:
            cursor.close()

    def statement_runner(self, dbapi_connection) -> Callable[[str], None]:
        """What runs one statement without results on the driver connection, cheaply.

        For SQLAlchemy's savepoint statements on a pinned connection, three per
        request: one cursor kept for all of them rather than one each.
        """
        return dbapi_connection.cursor().execute

    def send_script(
        self, dbapi_connection, statements: Sequence[str]
    ) -> Callable[[], None] | None:
        """Send the statements without waiting for the reply; return what reads it.

        The server works through a test's final ROLLBACK TO while pytest moves
        on to the next test, instead of pytest waiting a round trip for it.
        Only where the driver can split sending from reading, and only while
        the connection is still inside its transaction: a rollback bound to
        fail (a real COMMIT happened) runs now, so that the test that caused it
        is the one that reports it. Elsewhere the statements run now and None
        is returned.
        """
        self.run_script(dbapi_connection, statements)
        return None

    def transaction_failed(self, dbapi_connection) -> bool:
        """Whether the driver says a failed statement left the transaction refusing the next.

        Read without a round trip. False where a failed statement leaves the
        transaction usable (SQLite, MariaDB/MySQL) or the driver cannot tell.
        """
        return False

    def left_transaction(self, dbapi_connection) -> bool:
        """Whether the driver says the connection is out of its transaction now.

        Read before and after every statement on a pinned connection, without
        a round trip: once a statement took it out of its transaction (COMMIT,
        DDL on MySQL), the test's final rollback is run at once, so that the
        test reports it itself, even if later statements began a new
        transaction. False where the driver cannot tell.
        """
        return False

    def socket_of(self, dbapi_connection) -> int | None:
        """The file descriptor of the driver connection's socket to the server, if known.

        A child forked from the run replaces it with a dead one (guards/forks.py).
        None where there is no socket (SQLite) or the driver does not tell.
        """
        return None

    def is_missing_savepoint(self, error: BaseException) -> bool:
        """Whether a RELEASE / ROLLBACK TO failed because the server no longer has the savepoint.

        Only where DDL ends the transaction (and every savepoint with it).
        """
        return False

    def empty_tables(self, connection: Connection, tables: Sequence[Table]) -> None:
        """Delete every row of ``tables`` (given parents first), children first.

        DELETE rather than TRUNCATE: on few rows it is an order of magnitude
        cheaper, it stays inside the caller's transaction on every backend, and
        it takes no exclusive lock that could wait behind an idle session.
        """
        statements = [f"DELETE FROM {self._quoted(connection, t)}" for t in reversed(tables)]
        for statement in statements:
            connection.exec_driver_sql(statement)

    @contextlib.contextmanager
    def foreign_keys_off(self, connection: Connection) -> Iterator[None]:
        """Let DDL drop and create tables in any order on this connection."""
        yield

    #: whether restarting id counters is DDL (which commits on MySQL)
    sequence_reset_is_ddl = False

    #: whether a test ends better with a new outer transaction than with ROLLBACK TO,
    #: when nothing but the test wrote in the outer one
    restarts_outer_transaction = False

    def limit_lock_wait(self, connection: Connection, seconds: int) -> None:
        """Make the plugin's own cleanup give up on a lock after ``seconds``."""

    def lift_lock_wait(self, connection: Connection) -> None:
        """Give ``connection`` back the lock waits it had before :meth:`limit_lock_wait`.

        After the plugin's transaction, before the pool hands the connection to
        the app: the app's statements must wait as long as without the plugin.
        """

    def is_lock_timeout(self, error: BaseException) -> bool:
        return False

    def lock_holders(self, connection: Connection) -> str:
        """Who may hold the lock the cleanup waited for, in a few words."""
        return "another connection"

    def reset_sequences(self, connection: Connection, tables: Sequence[Table]) -> None:
        """Make the next generated id of each table its highest id + 1 (1 when empty).

        Rollback does not give ids back on servers (sequences, AUTO_INCREMENT);
        suites written against drop-and-create fixtures hard-code ids from 1.
        """

    # -- tables and views beside the models' ------------------------------

    def list_relations(self, connection: Connection, schemas: Sequence[str]) -> list[Relation]:
        """Every table and view in ``schemas``.

        The ``recreate`` strategy asks after every test that wrote: each backend
        below answers in one query; this fallback asks the inspector, per schema.
        """
        inspector = inspect(connection)
        return [
            Relation(schema, name, kind)
            for schema in schemas
            for kind, names in (
                ("view", inspector.get_view_names(schema)),
                ("table", inspector.get_table_names(schema)),
            )
            for name in names
        ]

    def drop_relations(self, connection: Connection, relations: Sequence[Relation]) -> None:
        """Drop tables and views the run made; views first, since they stand on tables."""
        for relation in sorted(relations, key=_tables_last):
            connection.exec_driver_sql(
                f"DROP {relation.kind.upper()} IF EXISTS {self._relation(connection, relation)}"
            )

    def is_blocked_drop(self, error: BaseException) -> bool:
        """Whether a DROP failed because another object depends on what it drops."""
        return False

    def blockers(self, connection: Connection, tables: Sequence[tuple[str, str]]) -> list[Blocker]:
        """The objects, other than ``tables`` themselves, that keep one of them from a drop."""
        return []

    # -- whole databases (servers only) --------------------------------

    def limit_admin_waits(self, dbapi_connection: Any, seconds: int) -> None:
        """Bound how long the server-level DDL (CREATE/DROP DATABASE) waits for a lock."""

    def maintenance_url(self, url: URL) -> URL:
        """Where CREATE/DROP DATABASE run: the server, not the database itself."""
        return url._replace(database=None)  # set() would keep a None field as it was

    def database_exists(self, connection: Connection, name: str) -> bool:
        return connection.exec_driver_sql(
            "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %(name)s",
            {"name": name},
        ).first() is not None

    def database_names(self, connection: Connection) -> list[str]:
        """Every database on the server."""
        return list(
            connection.exec_driver_sql("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
            .scalars()
        )

    def drop_database(self, connection: Connection, name: str) -> None:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {self._quote(connection, name)}")

    def create_database(self, connection: Connection, name: str) -> None:
        connection.exec_driver_sql(f"CREATE DATABASE {self._quote(connection, name)}")

    def clone_database(self, connection: Connection, source: str, target: str) -> None:
        """Replace database ``target`` with a copy of ``source``: its tables and their rows.

        Raises :class:`CannotClone` when the copy would not be faithful; the
        caller then builds the schema itself.
        """
        raise CannotClone(f"{connection.dialect.name} databases cannot be cloned")

    def try_lock(self, connection: Connection, name: str) -> bool:
        """Take the run lock on ``name`` if it is free (held until ``connection`` closes)."""
        return bool(
            connection.exec_driver_sql("SELECT GET_LOCK(%(name)s, 0)", {"name": name}).scalar()
        )


    @staticmethod
    def _quote(connection: Connection, name: str) -> str:
        return connection.dialect.identifier_preparer.quote(name)

    @staticmethod
    def _quoted(connection: Connection, table: Table) -> str:
        return qualified_name(connection, table)

    # -- schemas the models name ---------------------------------------

    #: schemas no model of a test run may live in
    system_schemas: frozenset[str] = frozenset()
    #: whether a schema is another database of the server (its twin is one too)
    schemas_are_databases = False
    #: whether cloning a database copies the schemas its models use
    clones_schemas = True

    def schema_target(self, schema: str, twin: str) -> str | None:
        """Where the models' ``schema`` lives in the test run; ``twin`` is its test name.

        Raises :class:`CannotMap` with the reason when no place is safe.
        """
        if schema.lower() in self.system_schemas:
            raise CannotMap("it is the server's own")
        return schema

    def create_schemas(self, connection: Connection, names: Sequence[str]) -> list[str]:
        """Create the schemas the models use inside the test database; those created."""
        return []

    def drop_schemas(self, connection: Connection, names: Sequence[str]) -> None:
        """Drop schemas this run created inside the test database."""

    @staticmethod
    def _relation(connection: Connection, relation: Relation) -> str:
        preparer = connection.dialect.identifier_preparer
        return f"{preparer.quote_schema(relation.schema)}.{preparer.quote(relation.name)}"


class CannotClone(Exception):
    """A database this backend cannot copy faithfully (the reason is the message)."""


class CannotMap(Exception):
    """A schema the models name that the run has no safe place for (the reason is the message)."""


def qualified_name(bind: Connection | Engine, table: Table) -> str:
    """The table's quoted name as statements on ``bind`` reach it: schema translation included.

    The plugin's own statements go to the driver as text, where SQLAlchemy's
    ``schema_translate_map`` does not apply: without this, they would reach
    the real schema a model names rather than its test twin.
    """
    preparer = bind.dialect.identifier_preparer
    mapping = bind.get_execution_options().get("schema_translate_map") or {}
    if table.schema not in mapping:
        return preparer.format_table(table)
    schema = mapping[table.schema]
    name = preparer.quote(table.name)
    return f"{preparer.quote_schema(schema)}.{name}" if schema else name


def _tables_last(relation: Relation) -> bool:
    return relation.kind == "table"


def describe_connections(rows) -> str:
    """Rows of (id, state, detail, last query) in words, for a server's ``lock_holders``."""
    return "; ".join(
        f"connection {pid} ({state}{', ' + str(detail) if detail else ''}"
        f"{', last query: ' + ' '.join(str(query).split()) if query else ''})"
        for pid, state, detail, query in rows
    )
