"""MySQL and MariaDB (PyMySQL): what differs from the other backends, its hooks and fast paths.

DDL commits here, a schema is another database of the server, and PyMySQL's
private API (detected by :func:`pymysql_can_pipeline` and
:func:`pymysql_keeps_socket`) pipelines the rollback ending a test and names
the socket a forked child must not use.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Table, event

from ... import fastpaths
from .base import Backend, CannotClone, CannotMap, Relation, describe_connections

# SERVER_STATUS_IN_TRANS of the MySQL protocol, from the last reply
_MYSQL_IN_TRANSACTION = 1
# where a connection's pool record keeps its own lock waits while the plugin's are set
_MYSQL_LOCK_WAITS = "flask_testbed.lock_waits"
# ER_SP_DOES_NOT_EXIST: "SAVEPOINT ... does not exist"
_MYSQL_NO_SUCH_SAVEPOINT = 1305


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
    # PyMySQL sends one statement per round trip, so a RELEASE after each
    # request's ROLLBACK TO would cost one; the savepoints a test's requests
    # leave behind cost 5% per request after 3,000 of them.
    releases_rolled_back_savepoints = False

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
        return describe_connections(rows) or "another connection"

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
