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
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, InvalidRequestError, ResourceClosedError

from ..database.dialects import backend_for
from ..guards import forks
from ..guards.callers import check_caller
from .handout import guard_driver_handout


class PinnedEngine:
    """An engine whose connections all share one transaction for the tests."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.backend = backend_for(engine)
        self.lock = threading.RLock()
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

    def pin(self) -> None:
        connection = self.engine.connect()
        self._outer = connection.begin()
        original = connection._execute_context
        lock = self.lock
        dbapi = self._dbapi = connection.connection.dbapi_connection
        left = self.backend.left_transaction

        def execute_serialised(*args: Any, **kwargs: Any) -> Any:
            check_caller()  # a forked child, a thread that outlived its test
            with lock:
                if self._reply is not None or self._failure is not None:
                    self._read_reply()
                self.statements += 1
                # A transition, not a state: MariaDB reports no transaction until
                # the first table is touched, which is no commit.
                was_out = left(dbapi)
                result = original(*args, **kwargs)
                if not was_out and left(dbapi):
                    self.left_transaction = True
                return result

        connection._execute_context = execute_serialised  # type: ignore[method-assign]
        guard_driver_handout(connection, self.await_reply)
        forks.watch_pinned(dbapi, self.backend.socket_of)
        self.connection = connection
        self.engine.connect = self._hand_out  # type: ignore[method-assign]

    def unpin(self) -> None:
        """Roll back everything and give the engine its own ``connect`` back."""
        self.engine.__dict__.pop("connect", None)
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

    def _hand_out(self) -> IsolatedConnection:
        return IsolatedConnection(self)


class ReplyFailed(Exception):
    """Statements sent without waiting failed; raised when their reply is read."""

    def __init__(self, test: str, error: Exception) -> None:
        super().__init__(str(error))
        self.test = test
        self.error = error


class IsolatedConnection(Connection):
    """What ``engine.connect()`` returns while the engine is pinned.

    It acts like a connection of its own: ``begin()`` (or the first statement)
    opens a savepoint on the pinned connection, ``commit()`` releases it,
    ``rollback()`` and ``close()`` roll back to it. Every other attribute is the
    pinned connection's. It is a :class:`~sqlalchemy.engine.Connection` for
    ``isinstance`` (the inspector and sessions check), without being one of its
    own: ``Connection.__init__`` never runs.
    """

    def __init__(self, pinned: PinnedEngine) -> None:
        assert pinned.connection is not None
        self._pinned = pinned
        self._connection = pinned.connection
        self._transaction: Any = None
        self._options: dict[str, Any] = {}
        self._closed = False

    def __getattribute__(self, name: str) -> Any:
        if name in _OWN or name.startswith("__"):
            return object.__getattribute__(self, name)
        return getattr(object.__getattribute__(self, "_connection"), name)

    def __enter__(self) -> IsolatedConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<IsolatedConnection on {self._connection!r}>"

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def connection(self) -> Any:
        # The driver's connection, for code that goes around SQLAlchemy: it
        # must not meet the reply to a rollback still on its way.
        self._pinned.await_reply()
        return self._connection.connection

    def get_isolation_level(self) -> Any:
        self._pinned.await_reply()
        return self._connection.get_isolation_level()

    def connect(self) -> IsolatedConnection:
        # Lets a session take this object as its bind, as it would an Engine.
        return IsolatedConnection(self._pinned)

    def in_transaction(self) -> bool:
        return self._transaction is not None and self._transaction.is_active

    def get_transaction(self) -> Any:
        return self._transaction if self.in_transaction() else None

    def begin(self) -> Any:
        self._check_open()
        if self.in_transaction():
            raise InvalidRequestError(
                "a transaction is already begun on this connection; "
                "commit() or rollback() it before calling begin() again"
            )
        self._transaction = self._connection.begin_nested()
        return self._transaction

    def begin_nested(self) -> Any:
        self._autobegin()
        return self._connection.begin_nested()

    def commit(self) -> None:
        if self.in_transaction():
            self._transaction.commit()

    def rollback(self) -> None:
        if self.in_transaction():
            self._transaction.rollback()

    def close(self) -> None:
        if not self._closed:
            self.rollback()
            self._closed = True

    def execution_options(self, **options: Any) -> IsolatedConnection:
        # Kept to this handle: the pinned connection is shared with the whole test.
        self._options.update(options)
        return self

    def execute(self, statement: Any, parameters: Any = None, *, execution_options: Any = None):
        self._autobegin()
        return self._connection.execute(
            statement, parameters, execution_options=self._merged(execution_options)
        )

    def exec_driver_sql(self, statement: str, parameters: Any = None, execution_options=None):
        self._autobegin()
        return self._connection.exec_driver_sql(
            statement, parameters, execution_options=self._merged(execution_options)
        )

    def scalar(self, statement: Any, parameters: Any = None, *, execution_options: Any = None):
        return self.execute(statement, parameters, execution_options=execution_options).scalar()

    def scalars(self, statement: Any, parameters: Any = None, *, execution_options: Any = None):
        return self.execute(statement, parameters, execution_options=execution_options).scalars()

    def _merged(self, options: Any) -> Any:
        if not self._options:
            return options
        return {**self._options, **(options or {})}

    def _autobegin(self) -> None:
        self._check_open()
        if not self.in_transaction():
            self.begin()

    def _check_open(self) -> None:
        if self._closed:
            raise ResourceClosedError("This Connection is closed")


# What IsolatedConnection answers itself; everything else is the pinned connection's.
_OWN = frozenset(
    name for name in vars(IsolatedConnection) if not name.startswith("__")
) | {"_pinned", "_connection", "_transaction", "_options", "_closed"}
