"""PostgreSQL (psycopg 3): what differs from the other backends, and its fast path.

Databases are cloned by the server from a template, cleanup runs in one round
trip, and the rollback ending a test is pipelined through psycopg's low-level
API where this run's psycopg offers it (:func:`psycopg_can_pipeline`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.engine import URL

from ... import fastpaths
from .base import Backend, Blocker, CannotMap, Relation, describe_connections

#: pg_class.relkind of the relations the run lists: partitioned tables are tables
_PG_KINDS = {"r": "table", "p": "table", "v": "view", "m": "materialized view"}
# libpq's PQTRANS_INTRANS and PQTRANS_INERROR (ROLLBACK TO works in both), PQTRANS_IDLE
_PG_IN_TRANSACTION = (2, 3)
_PG_INTRANS = (2,)
_PG_INERROR = 3
_PG_IDLE = 0


def _sendable(statements: Sequence[str]) -> tuple[int, ...]:
    """The transaction states in which ``statements`` may go without waiting for the reply.

    A ROLLBACK TO also works in a failed transaction (it is what ends the
    failure); anything else (a request's SAVEPOINT) would fail there, and is
    run at once so that it fails where it is, as SQLAlchemy's error.
    """
    return _PG_IN_TRANSACTION if statements[0].startswith("ROLLBACK") else _PG_INTRANS


class PostgreSQLBackend(Backend):
    name = "postgresql"
    # Measured: a test whose requests each commit an UPDATE went from 2.3 ms to
    # 80 ms per request over 3,000 requests while each left its savepoint behind
    # (every level that wrote is a subtransaction the server walks); flat once
    # released. The RELEASE travels with the ROLLBACK TO: no round trip more.
    releases_rolled_back_savepoints = True

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
            or pgconn.transaction_status not in _sendable(statements)
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

    def transaction_failed(self, dbapi_connection) -> bool:
        pgconn = getattr(dbapi_connection, "pgconn", None)
        return pgconn is not None and pgconn.transaction_status == _PG_INERROR

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
        return describe_connections(rows) or "another connection"

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
