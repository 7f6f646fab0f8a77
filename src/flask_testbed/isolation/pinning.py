"""One connection per engine, shared by everything that reaches the engine.

While an engine is pinned, its test-wide Connection holds an open transaction,
and every way of reaching the engine lands inside it:

- Flask-SQLAlchemy sessions (``db.session``, ``Model.query``, any thread's
  session) are routed to the pinned Connection by ``get_bind`` and join it with
  ``join_transaction_mode="create_savepoint"``, so the app's ``commit()`` is a
  RELEASE and its ``rollback()`` a ROLLBACK TO SAVEPOINT.
- ``engine.connect()`` / ``engine.begin()`` return an :class:`IsolatedConnection`
  that behaves like a fresh connection of its own but whose transaction is a
  savepoint of the pinned one. (Flask-SQLAlchemy ignores a session's ``bind=``,
  and SQLAlchemy 2.1 adopts a connection already in a transaction with commit
  semantics, so neither can be left to SQLAlchemy.)

Statements are serialised across threads by a lock around each execution, so a
job thread or a live server can share the connection with the test.

The plugin's own rollback at the end of a test may be sent without waiting for
its reply (:meth:`PinnedEngine.send`): whatever uses the connection next reads
the reply first, so nothing ever runs before the rollback is done.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError

from .. import fastpaths
from ..database.backends import backend_for
from ..guards import forks
from ..guards.callers import check_caller
from . import turns
from .connections import IsolatedConnection, IsolatedDriverConnection
from .handout import guard_driver_handout
from .routing import original_connect
from .savepoints import send_savepoints_directly
from .turns import acquire as take_turn

#: where the lock around each statement goes: SQLAlchemy's one private method, or
#: the public ones that lead to it
_EXECUTE_HOOKS = ("_execute_context",)
_EXECUTE_METHODS = ("execute", "exec_driver_sql", "scalar")


def hooks_execute_context() -> bool:
    """Whether SQLAlchemy's Connection runs every statement through ``_execute_context``."""
    return callable(getattr(Connection, "_execute_context", None))


class PinnedEngine:
    """An engine whose connections all share one transaction for the tests."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.backend = backend_for(engine)
        # One for every pinned connection: a live server's request takes its turn on all.
        self.lock = turns.STATEMENTS
        self.connection: Connection | None = None
        self._outer: Any = None
        self._dbapi: Any = None
        #: statements the app and SQLAlchemy ran on the pinned connection (not the plugin's)
        self.statements = 0
        #: reads the reply to statements sent without waiting, until it is read
        self._reply: Callable[[], None] | None = None
        #: the test whose end sent them, for the message if they failed
        self._sent_by = ""
        self._failure: ReplyFailed | None = None
        #: a statement took the connection out of its transaction (a real commit)
        self.left_transaction = False
        #: savepoints released on the pinned connection: commits inside the sandbox
        self.commits = 0
        #: SQLAlchemy's own savepoint path: the thread about to roll back to a
        #: savepoint, and its quoted name, to release right after
        self._release_after: tuple[int, str] | None = None

    def pin(self) -> None:
        connection = original_connect(self.engine)
        self._outer = connection.begin()
        lock = self.lock
        dbapi = self._dbapi = connection.connection.dbapi_connection
        left = self.backend.left_transaction

        take = self._take_connection

        def serialised(original: Callable[..., Any]) -> Callable[..., Any]:
            def execute_serialised(*args: Any, **kwargs: Any) -> Any:
                take()
                try:
                    release = self._release_after
                    if release is not None and release[0] == threading.get_ident():
                        self._release_after = None  # this statement is that ROLLBACK TO
                    else:
                        release = None
                    # A transition, not a state: MariaDB reports no transaction until
                    # the first table is touched, which is no commit.
                    was_out = left(dbapi)
                    result = original(*args, **kwargs)
                    if not was_out and left(dbapi):
                        self.left_transaction = True
                    if release is not None:
                        run_statement(f"RELEASE SAVEPOINT {release[1]}")
                    return result
                finally:
                    lock.release()

            return execute_serialised

        # Every statement SQLAlchemy runs passes through its private _execute_context;
        # without it, the public methods the app, the ORM and DDL call (scalars()
        # calls execute()). The lock is reentrant: a statement inside one is fine.
        for name in _EXECUTE_HOOKS if fastpaths.enabled("statement-lock") else _EXECUTE_METHODS:
            setattr(connection, name, serialised(getattr(connection, name)))
        run_statement = self.backend.statement_runner(dbapi)
        send_script = self.backend.send_script

        def run_savepoint_statements(statements: Sequence[str], wait: bool) -> None:
            take()
            try:
                if wait:
                    for statement in statements:
                        run_statement(statement)
                    return
                # A request's SAVEPOINT, or its closing ROLLBACK TO: the server
                # works while Python goes on, and the next statement reads the
                # reply first.
                self._reply = send_script(dbapi, statements)
                self._sent_by = ""
            finally:
                lock.release()

        releases = self.backend.releases_rolled_back_savepoints
        direct = send_savepoints_directly(connection, run_savepoint_statements, releases)
        if releases and not direct:
            self._release_rolled_back(connection)
        event.listen(connection, "release_savepoint", self._count_commit)
        guard_driver_handout(connection, self.await_reply)
        forks.watch_pinned(dbapi, self.backend.socket_of)
        set_options = connection.execution_options

        def execution_options(**options: Any) -> Connection:
            # Shared by the whole test: its isolation level cannot change inside the
            # transaction (a session's connection(execution_options=...) asks for it).
            options.pop("isolation_level", None)
            return set_options(**options)

        connection.execution_options = execution_options  # type: ignore[method-assign]
        self.connection = connection

    def _release_rolled_back(self, connection: Connection) -> None:
        """On SQLAlchemy's own savepoint path: release each savepoint it rolled back to.

        What the direct path sends with the ROLLBACK TO (see
        :func:`.savepoints.send_savepoints_directly`), here a statement of its
        own, run right after SQLAlchemy's ROLLBACK TO, which follows this event
        on the same thread (unless the connection is closed: then nothing does).
        """
        quote = connection.dialect.identifier_preparer.quote

        def rolling_back(conn: Connection, name: str, _context: Any) -> None:
            if not conn.closed and not conn.invalidated:
                self._release_after = (threading.get_ident(), quote(name))

        event.listen(connection, "rollback_savepoint", rolling_back)

    def _take_connection(self) -> None:
        """Before a statement of the app or SQLAlchemy: the lock is then held (the caller releases).

        The caller is checked (a forked child, a thread that outlived its test),
        the test's thread waits for a live server's request, and a reply still
        pending is read first.
        """
        check_caller()
        take_turn(self.lock)
        try:
            if self._reply is not None or self._failure is not None:
                self._read_reply()
        except BaseException:
            self.lock.release()
            raise
        self.statements += 1

    def transaction_failed(self) -> bool:
        """Whether the last statement failed and left the transaction refusing the next ones.

        A reply still on its way is the plugin's own statement, sent only into a
        working transaction (or a ROLLBACK TO, which ends a failed one): not that.
        """
        return self._reply is None and self.backend.transaction_failed(self._dbapi)

    def _count_commit(self, *_args: Any) -> None:
        self.commits += 1

    def unpin(self) -> None:
        """Roll back everything and close the pinned connection."""
        connection, self.connection = self.connection, None
        if connection is None:
            return
        forks.unwatch_pinned(self._dbapi)
        try:
            # The transaction ends here whatever the reply said.
            with contextlib.suppress(ReplyFailed):
                self.settle()
            if self._outer.is_active:
                self._outer.rollback()
        except DBAPIError:
            # The server dropped the connection (and rolled back with it): there
            # is nothing left to end, and the pool must not get it back.
            connection.invalidate()
        finally:
            connection.close()

    def run(self, statements: Sequence[str]) -> None:
        """Send the plugin's own statements straight to the driver."""
        with self.lock:
            self.settle()
            self.backend.run_script(self._dbapi, statements)

    def send(self, statements: Sequence[str], test: str) -> None:
        """Like :meth:`run`, without waiting for the reply where the driver allows.

        ``test`` names the test whose end this is, should the reply be an error.
        """
        with self.lock:
            self.settle()
            if self.left_transaction:
                # Bound to fail: run now, so that this test reports it.
                self.left_transaction = False
                self.backend.run_script(self._dbapi, statements)
                return
            self._reply = self.backend.send_script(self._dbapi, statements)
            self._sent_by = test

    def settle(self) -> None:
        """Wait for the reply to what :meth:`send` sent; raise :class:`ReplyFailed` if it failed."""
        with self.lock:
            try:
                self._read_reply()
            finally:
                self._failure = None

    def await_reply(self) -> None:
        """Before the connection is used: read a pending reply (its failure stays for settle)."""
        if self._reply is not None or self._failure is not None:
            with self.lock:
                self._read_reply()

    def lost_connection(self, error: BaseException) -> bool:
        """Whether ``error`` says the server closed the pinned connection (a restart, a KILL)."""
        if isinstance(error, ReplyFailed):
            error = error.error
        if isinstance(error, DBAPIError):
            if error.connection_invalidated:
                return True
            error = error.orig
        try:
            return bool(self.engine.dialect.is_disconnect(error, self._dbapi, None))
        except Exception:  # a dialect that cannot judge a raw driver error: not known lost
            return False

    def _read_reply(self) -> None:
        # Keeps a failure until settle() takes it: a statement of the app that
        # read the reply first (a live server's thread) must not swallow it.
        reply, self._reply = self._reply, None
        if reply is not None:
            try:
                reply()
            except Exception as exc:  # the driver's own error class
                self._failure = ReplyFailed(self._sent_by, exc)
        if self._failure is not None:
            raise self._failure

    def hand_out(self, engine: Engine | None = None) -> IsolatedConnection:
        """What ``engine.connect()`` returns: a connection of its own inside the sandbox."""
        connection = IsolatedConnection(self)
        if engine is not None and engine is not self.engine:
            # A copy (execution_options) or another engine on this database: its options.
            options = engine.get_execution_options()
            if options:
                connection.execution_options(**options)
        return connection

    def hand_out_raw(self, engine: Engine | None = None) -> IsolatedDriverConnection:
        """What ``engine.raw_connection()`` returns: the driver's API, inside the sandbox."""
        return IsolatedDriverConnection(self.hand_out(engine))

    @contextlib.contextmanager
    def begin(self, engine: Engine | None = None) -> Iterator[IsolatedConnection]:
        """``engine.begin()`` (``create_all``, ``drop_all``), ended by the handle's own commit.

        SQLAlchemy's would end the savepoint itself, around the handle, where
        a savepoint the server dropped (DDL on MariaDB/MySQL) fails the test.
        """
        with self.hand_out(engine) as connection:
            connection.begin()
            try:
                yield connection
            except BaseException:
                connection.rollback()
                raise
            connection.commit()


class ReplyFailed(Exception):
    """Statements sent without waiting failed; raised when their reply is read."""

    def __init__(self, test: str, error: Exception) -> None:
        super().__init__(str(error))
        self.test = test
        self.error = error
