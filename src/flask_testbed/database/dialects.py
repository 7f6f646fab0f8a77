"""Backend differences, in one place.

Each backend class answers the same few questions (how to prepare an engine,
how to empty tables, how to run DDL without foreign-key checks, how to send
several of the plugin's own statements at once); the rest of the plugin never
asks which database it talks to.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, Table, event, inspect
from sqlalchemy.engine import URL

from .. import fastpaths


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


class SQLiteBackend(Backend):
    name = "sqlite"
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


class PostgreSQLBackend(Backend):
    name = "postgresql"

    def run_script(self, dbapi_connection, statements: Sequence[str]) -> None:
        # One round trip: without parameters the server takes several statements.
        super().run_script(dbapi_connection, ["; ".join(statements)])

    def send_script(
        self, dbapi_connection, statements: Sequence[str]
    ) -> Callable[[], None] | None:
        pgconn = getattr(dbapi_connection, "pgconn", None)  # psycopg 3 only
        if (
            pgconn is None
            or not fastpaths.enabled("psycopg-pipelined-rollback")
            or pgconn.transaction_status not in _PG_IN_TRANSACTION
        ):
            return super().send_script(dbapi_connection, statements)
        from psycopg import errors, generators
        from psycopg.pq import ExecStatus

        # psycopg's own lock too: code that reaches the driver around SQLAlchemy
        # (and so around the plugin's lock) waits instead of interleaving.
        with dbapi_connection.lock:
            pgconn.send_query("; ".join(statements).encode())
            if pgconn.flush():  # the socket took only part of it (never for a few bytes)
                dbapi_connection.wait(generators.send(pgconn))

        def read_reply() -> None:
            with dbapi_connection.lock:
                results = dbapi_connection.wait(generators.fetch_many(pgconn))
            for result in results:
                if result.status == ExecStatus.FATAL_ERROR:
                    raise errors.error_from_result(
                        result, encoding=dbapi_connection.info.encoding
                    )

        return read_reply

    def left_transaction(self, dbapi_connection) -> bool:
        pgconn = getattr(dbapi_connection, "pgconn", None)
        return pgconn is not None and pgconn.transaction_status == _PG_IDLE

    def limit_admin_waits(self, dbapi_connection: Any, seconds: int) -> None:
        # Session-wide: the maintenance connection runs without a transaction.
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET lock_timeout = '{int(seconds)}s'")
        cursor.close()

    def socket_of(self, dbapi_connection) -> int | None:
        fileno = getattr(dbapi_connection, "fileno", None)  # psycopg 3's public API
        return fileno() if fileno is not None else None

    def maintenance_url(self, url: URL) -> URL:
        return url.set(database="postgres")

    system_schemas = frozenset({"pg_catalog", "information_schema", "pg_toast"})

    def schema_target(self, schema: str, twin: str) -> str | None:
        if schema.lower().startswith("pg_"):
            raise CannotMap("it is the server's own")
        # Inside the test database already: the run's to create and drop.
        return super().schema_target(schema, twin)

    def create_schemas(self, connection: Connection, names: Sequence[str]) -> list[str]:
        existing = set(
            connection.exec_driver_sql("SELECT nspname FROM pg_namespace").scalars()
        )
        created = [name for name in names if name not in existing]
        for name in created:
            connection.exec_driver_sql(f"CREATE SCHEMA {self._quote_schema(connection, name)}")
        return created

    def drop_schemas(self, connection: Connection, names: Sequence[str]) -> None:
        for name in names:
            connection.exec_driver_sql(
                f"DROP SCHEMA IF EXISTS {self._quote_schema(connection, name)} CASCADE"
            )

    @staticmethod
    def _quote_schema(connection: Connection, name: str) -> str:
        return connection.dialect.identifier_preparer.quote_schema(name)

    def database_exists(self, connection: Connection, name: str) -> bool:
        return connection.exec_driver_sql(
            "SELECT 1 FROM pg_database WHERE datname = %(name)s", {"name": name}
        ).first() is not None

    def database_names(self, connection: Connection) -> list[str]:
        return list(connection.exec_driver_sql("SELECT datname FROM pg_database").scalars())

    def drop_database(self, connection: Connection, name: str) -> None:
        # FORCE: a connection a killed run left behind must not keep it alive.
        connection.exec_driver_sql(
            f"DROP DATABASE IF EXISTS {self._quote(connection, name)} WITH (FORCE)"
        )

    def clone_database(self, connection: Connection, source: str, target: str) -> None:
        # A file-level copy by the server: about 0.1 s whatever the schema's
        # size, against about 1 s for create_all of 200 tables. The source must
        # have no open connection, which is why run locks live in `postgres`.
        self.drop_database(connection, target)
        connection.exec_driver_sql(
            f"CREATE DATABASE {self._quote(connection, target)} "
            f"TEMPLATE {self._quote(connection, source)}"
        )

    def try_lock(self, connection: Connection, name: str) -> bool:
        return bool(
            connection.exec_driver_sql(
                "SELECT pg_try_advisory_lock(hashtext(%(name)s))", {"name": name}
            ).scalar()
        )


    def limit_lock_wait(self, connection: Connection, seconds: int) -> None:
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{seconds}s'")

    def is_lock_timeout(self, error: BaseException) -> bool:
        return "lock timeout" in str(error)

    def lock_holders(self, connection: Connection) -> str:
        rows = connection.exec_driver_sql(
            "SELECT pid, state, application_name, left(query, 80) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND left(state, 19) = 'idle in transaction'"
        ).all()
        return _describe(rows) or "another connection"

    def reset_sequences(self, connection: Connection, tables: Sequence[Table]) -> None:
        # setval is not transactional: it holds whatever the test does after it.
        calls = []
        for table in tables:
            column = table.autoincrement_column
            if column is None:
                continue
            name = self._quoted(connection, table)
            quoted_column = connection.dialect.identifier_preparer.quote(column.name)
            calls.append(
                f"setval(pg_get_serial_sequence('{name}', '{column.name}'), "
                f"COALESCE((SELECT MAX({quoted_column}) FROM {name}), 0) + 1, false)"
            )
        if calls:
            connection.exec_driver_sql("SELECT " + ", ".join(calls))

    def empty_tables(self, connection: Connection, tables: Sequence[Table]) -> None:
        if tables:
            connection.exec_driver_sql(
                "; ".join(f"DELETE FROM {self._quoted(connection, t)}" for t in reversed(tables))
            )

    def list_relations(self, connection: Connection, schemas: Sequence[str]) -> list[Relation]:
        rows = connection.exec_driver_sql(
            "SELECT n.nspname, c.relname, c.relkind FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'v', 'm') "
            # An extension's own tables (PostGIS's spatial_ref_sys) go with the extension.
            "AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d "
            "WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid "
            "AND d.deptype = 'e')",
            {"schemas": list(schemas)},
        )
        return [Relation(schema, name, _PG_KINDS[kind]) for schema, name, kind in rows]

    def drop_relations(self, connection: Connection, relations: Sequence[Relation]) -> None:
        # CASCADE, in one round trip: whatever stands on an object the run made
        # was made after it, by the run too. Never used on the models' tables.
        statements = []
        for kind in ("materialized view", "view", "table"):
            names = [self._relation(connection, r) for r in relations if r.kind == kind]
            if names:
                statements.append(f"DROP {kind.upper()} IF EXISTS {', '.join(names)} CASCADE")
        if statements:
            connection.exec_driver_sql("; ".join(statements))

    def is_blocked_drop(self, error: BaseException) -> bool:
        orig = getattr(error, "orig", error)
        code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        return code == "2BP01"  # dependent_objects_still_exist

    def blockers(self, connection: Connection, tables: Sequence[tuple[str, str]]) -> list[Blocker]:
        # A view depends on a table through its rewrite rule, a foreign key
        # through its constraint: both are named by the relation they belong to.
        # Anything else (a function on the table's row type) is described by the server.
        rows = connection.exec_driver_sql(
            "WITH model AS (SELECT c.oid, c.reltype, c.relname FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "JOIN unnest(%(schemas)s::text[], %(names)s::text[]) AS m(nspname, relname) "
            "ON m.nspname = n.nspname AND m.relname = c.relname) "
            "SELECT DISTINCT model.relname, dn.nspname, dc.relname, dc.relkind, k.conname, "
            "pg_catalog.pg_describe_object(d.classid, d.objid, 0) "
            "FROM pg_catalog.pg_depend d "
            "JOIN model ON (d.refclassid = 'pg_catalog.pg_class'::regclass "
            "AND d.refobjid = model.oid) OR (d.refclassid = 'pg_catalog.pg_type'::regclass "
            "AND d.refobjid = model.reltype) "
            "LEFT JOIN pg_catalog.pg_rewrite r "
            "ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND r.oid = d.objid "
            "LEFT JOIN pg_catalog.pg_constraint k "
            "ON d.classid = 'pg_catalog.pg_constraint'::regclass AND k.oid = d.objid "
            "LEFT JOIN pg_catalog.pg_class dc ON dc.oid = COALESCE(r.ev_class, k.conrelid) "
            "LEFT JOIN pg_catalog.pg_namespace dn ON dn.oid = dc.relnamespace "
            "WHERE d.deptype = 'n' AND (dc.oid IS NULL OR dc.oid NOT IN (SELECT oid FROM model)) "
            "ORDER BY 1, 2, 3, 5, 6",
            {"schemas": [schema for schema, _ in tables], "names": [name for _, name in tables]},
        )
        quote = connection.dialect.identifier_preparer.quote
        found = []
        for table, schema, name, relkind, constraint, other in rows:
            if name is None:
                found.append(Blocker(other, None, "", table))
                continue
            kind = _PG_KINDS.get(relkind, "table")
            relation = Relation(schema, name, kind)
            qualified = self._relation(connection, relation)
            if constraint is not None:
                found.append(Blocker(
                    f"foreign key {constraint} of table {qualified}", relation,
                    f"ALTER TABLE {qualified} DROP CONSTRAINT {quote(constraint)}", table,
                ))
            elif kind == "table":  # a rule on another table
                found.append(Blocker(other, relation, "", table))
            else:
                statement = f"DROP {kind.upper()} {qualified}"
                found.append(Blocker(f"{kind} {qualified}", relation, statement, table))
        return found


class MySQLBackend(Backend):
    name = "mysql"
    transactional_ddl = False
    # A schema is another database of the server: the real one may hold anybody's
    # data, so the models' tables go to a test twin (``shop`` -> ``test_shop``).
    schemas_are_databases = True
    # The template's twins are databases of their own, which a clone does not copy.
    clones_schemas = False
    system_schemas = frozenset({"mysql", "information_schema", "performance_schema", "sys"})
    max_name_length = 64

    def schema_target(self, schema: str, twin: str) -> str | None:
        super().schema_target(schema, twin)
        if len(twin) > self.max_name_length:
            raise CannotMap(f"its test twin {twin!r} is longer than {self.max_name_length}")
        return twin

    def prepare_engine(self, engine: Engine) -> None:
        # Under REPEATABLE READ (the default) a test's session keeps the snapshot
        # of its first read: rows the app commits later on another connection
        # (truncate/recreate strategies, threads) would stay invisible to the test.
        if event.contains(engine, "connect", _mysql_read_committed):
            return
        event.listen(engine, "connect", _mysql_read_committed)
        engine.dispose()

    sequence_reset_is_ddl = True

    def send_script(
        self, dbapi_connection, statements: Sequence[str]
    ) -> Callable[[], None] | None:
        # PyMySQL only: its query() is these two steps. One statement per
        # round trip, since the plugin does not turn multi-statements on.
        send = getattr(dbapi_connection, "_execute_command", None)
        if not fastpaths.enabled("pymysql-pipelined-rollback"):
            send = None
        if send is None or len(statements) != 1 or self.left_transaction(dbapi_connection):
            return super().send_script(dbapi_connection, statements)
        from pymysql.constants import COMMAND

        send(COMMAND.COM_QUERY, statements[0])
        return dbapi_connection._read_query_result

    def left_transaction(self, dbapi_connection) -> bool:
        # From the last OK packet: a result set does not update it, which can
        # only make the rollback run at once when it did not have to.
        status = getattr(dbapi_connection, "server_status", None)
        return status is not None and not status & _MYSQL_IN_TRANSACTION

    def socket_of(self, dbapi_connection) -> int | None:
        return _pymysql_socket(dbapi_connection)

    def clone_database(self, connection: Connection, source: str, target: str) -> None:
        # No TEMPLATE here. SHOW CREATE TABLE replayed in the target creates each
        # table with its indexes and foreign keys in one statement: about 0.7 s
        # for 200 tables, against about 3 s for create_all, whose separate
        # CREATE INDEX statements each rebuild their table. CREATE TABLE ... LIKE
        # would be as fast but drops the foreign keys.
        other = connection.exec_driver_sql(
            "SELECT 'views' FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %(db)s "
            "UNION ALL SELECT 'triggers' FROM information_schema.TRIGGERS "
            "WHERE TRIGGER_SCHEMA = %(db)s "
            "UNION ALL SELECT 'routines' FROM information_schema.ROUTINES "
            "WHERE ROUTINE_SCHEMA = %(db)s "
            "UNION ALL SELECT 'events' FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %(db)s",
            {"db": source},
        ).scalars().all()
        if other:
            raise CannotClone(f"{source} holds {', '.join(sorted(set(other)))}")
        tables = connection.exec_driver_sql(
            "SELECT TABLE_NAME FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = %(db)s AND TABLE_TYPE = 'BASE TABLE'",
            {"db": source},
        ).scalars().all()
        quote = connection.dialect.identifier_preparer.quote
        statements = [
            connection.exec_driver_sql(
                f"SHOW CREATE TABLE {quote(source)}.{quote(table)}"
            ).one()[1]
            for table in tables
        ]
        self.drop_database(connection, target)
        self.create_database(connection, target)
        connection.exec_driver_sql(f"USE {quote(target)}")
        with self.foreign_keys_off(connection):
            for statement in statements:
                connection.exec_driver_sql(statement.replace("%", "%%"))
            for table in tables:  # the fingerprint, alembic_version, seed rows
                connection.exec_driver_sql(
                    f"INSERT INTO {quote(table)} SELECT * FROM {quote(source)}.{quote(table)}"
                )

    def list_relations(self, connection: Connection, schemas: Sequence[str]) -> list[Relation]:
        placeholders = ", ".join(f"%(schema{i})s" for i in range(len(schemas)))
        rows = connection.exec_driver_sql(
            "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES "
            f"WHERE TABLE_SCHEMA IN ({placeholders}) "
            "AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED', 'VIEW')",
            {f"schema{i}": schema for i, schema in enumerate(schemas)},
        )
        return [
            Relation(schema, name, "view" if kind == "VIEW" else "table")
            for schema, name, kind in rows
        ]

    def drop_relations(self, connection: Connection, relations: Sequence[Relation]) -> None:
        # One statement per kind: DROP takes a list of names here.
        for kind in ("view", "table"):
            names = [self._relation(connection, r) for r in relations if r.kind == kind]
            if names:
                connection.exec_driver_sql(f"DROP {kind.upper()} IF EXISTS {', '.join(names)}")

    def is_missing_savepoint(self, error: BaseException) -> bool:
        orig = getattr(error, "orig", error)
        return bool(getattr(orig, "args", None)) and orig.args[0] == _MYSQL_NO_SUCH_SAVEPOINT

    def limit_admin_waits(self, dbapi_connection: Any, seconds: int) -> None:
        # DROP DATABASE waits for metadata locks for a year by default.
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET SESSION lock_wait_timeout = {int(seconds)}")
        cursor.close()

    def limit_lock_wait(self, connection: Connection, seconds: int) -> None:
        # Session variables: they outlive the transaction. What the connection had
        # is read once per connection (its pool record keeps it), for lift_lock_wait.
        if _MYSQL_LOCK_WAITS not in connection.info:
            connection.info[_MYSQL_LOCK_WAITS] = tuple(
                connection.exec_driver_sql(
                    "SELECT @@SESSION.lock_wait_timeout, @@SESSION.innodb_lock_wait_timeout"
                ).one()
            )
        connection.exec_driver_sql(
            f"SET SESSION lock_wait_timeout = {seconds}, innodb_lock_wait_timeout = {seconds}"
        )

    def lift_lock_wait(self, connection: Connection) -> None:
        lock_wait, innodb_lock_wait = connection.info[_MYSQL_LOCK_WAITS]
        connection.exec_driver_sql(
            f"SET SESSION lock_wait_timeout = {int(lock_wait)}, "
            f"innodb_lock_wait_timeout = {int(innodb_lock_wait)}"
        )

    def is_lock_timeout(self, error: BaseException) -> bool:
        return "Lock wait timeout" in str(error)

    def lock_holders(self, connection: Connection) -> str:
        rows = connection.exec_driver_sql(
            "SELECT p.ID, t.trx_state, p.COMMAND, LEFT(COALESCE(t.trx_query, p.INFO, ''), 80) "
            "FROM information_schema.INNODB_TRX t "
            "JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id "
            "WHERE p.ID <> CONNECTION_ID()"
        ).all()
        return _describe(rows) or "another connection"

    def reset_sequences(self, connection: Connection, tables: Sequence[Table]) -> None:
        # ALTER TABLE is DDL and commits: the caller runs this outside any test
        # transaction. InnoDB raises a too-low value to max(id) + 1 itself.
        for table in tables:
            if table.autoincrement_column is not None:
                connection.exec_driver_sql(
                    f"ALTER TABLE {self._quoted(connection, table)} AUTO_INCREMENT = 1"
                )

    def empty_tables(self, connection: Connection, tables: Sequence[Table]) -> None:
        with self.foreign_keys_off(connection):
            super().empty_tables(connection, tables)

    @contextlib.contextmanager
    def foreign_keys_off(self, connection: Connection) -> Iterator[None]:
        connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
        try:
            yield
        finally:
            connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")


#: pg_class.relkind of the relations the run lists: partitioned tables are tables
_PG_KINDS = {"r": "table", "p": "table", "v": "view", "m": "materialized view"}
# libpq's PQTRANS_INTRANS and PQTRANS_INERROR (ROLLBACK TO works in both), PQTRANS_IDLE
_PG_IN_TRANSACTION = (2, 3)
_PG_IDLE = 0
# SERVER_STATUS_IN_TRANS of the MySQL protocol, from the last reply
_MYSQL_IN_TRANSACTION = 1
# where a connection's pool record keeps its own lock waits while the plugin's are set
_MYSQL_LOCK_WAITS = "flask_testbed.lock_waits"
# ER_SP_DOES_NOT_EXIST: "SAVEPOINT ... does not exist"
_MYSQL_NO_SUCH_SAVEPOINT = 1305

_BACKENDS = {
    "sqlite": SQLiteBackend(),
    "postgresql": PostgreSQLBackend(),
    "mysql": MySQLBackend(),
    "mariadb": MySQLBackend(),
}


def backend_for(engine: Engine | Connection) -> Backend:
    return _BACKENDS.get(engine.dialect.name, Backend())


def _tables_last(relation: Relation) -> bool:
    return relation.kind == "table"


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _describe(rows) -> str:
    return "; ".join(
        f"connection {pid} ({state}{', ' + str(detail) if detail else ''}"
        f"{', last query: ' + ' '.join(str(query).split()) if query else ''})"
        for pid, state, detail, query in rows
    )


def _pymysql_socket(dbapi_connection) -> int | None:
    """PyMySQL's socket descriptor: its private ``_sock``, the only place it is kept.

    None when the driver has no such attribute (another driver, a later
    PyMySQL): a forked child then relies on the refusal of every statement
    alone, its copy of the socket left as it is.
    """
    if not fastpaths.enabled("pymysql-fork-socket"):
        return None
    sock = getattr(dbapi_connection, "_sock", None)
    fileno = getattr(sock, "fileno", None)
    return fileno() if callable(fileno) else None


def _mysql_read_committed(dbapi_connection, connection_record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
    cursor.close()


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


def psycopg_can_pipeline() -> str | None:
    """None when psycopg offers what :meth:`PostgreSQLBackend.send_script` sends with, else why not.

    Where it does not, the rollback ending a test is run and waited for (the DB-API).
    """
    import psycopg
    from psycopg import errors, generators

    for owner, name in (
        (generators, "send"),
        (generators, "fetch_many"),
        (errors, "error_from_result"),
        (psycopg.Connection, "wait"),
    ):
        if not callable(getattr(owner, name, None)):
            return f"psycopg {psycopg.__version__} has no {owner.__name__}.{name}"
    return None


def pymysql_can_pipeline() -> str | None:
    """None when PyMySQL offers what :meth:`MySQLBackend.send_script` sends with, else why not."""
    from pymysql.connections import Connection

    for name in ("_execute_command", "_read_query_result"):
        if not callable(getattr(Connection, name, None)):
            return f"PyMySQL's Connection has no {name}"
    return None


def pymysql_keeps_socket() -> str | None:
    """None when PyMySQL keeps its socket where :func:`_pymysql_socket` reads it, else why not."""
    from pymysql.connections import Connection

    # A class attribute (None until connected) in every PyMySQL 1.x.
    return None if "_sock" in vars(Connection) else "PyMySQL's Connection keeps no _sock"
