"""What ``engine.connect()`` and ``engine.raw_connection()`` return while an engine is pinned.

Each acts like a connection of its own, whose transaction is a savepoint of
the pinned connection's: what the app does through it lands inside the
test's sandbox, and its ``commit()``, ``rollback()`` and ``close()`` end only
that savepoint.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, InvalidRequestError, ResourceClosedError

if TYPE_CHECKING:
    from .pinning import PinnedEngine


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
        self._autocommit = False

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
            with self._gone_with_its_transaction():
                self._transaction.commit()

    def rollback(self) -> None:
        if self.in_transaction():
            with self._gone_with_its_transaction():
                self._transaction.rollback()

    @contextlib.contextmanager
    def _gone_with_its_transaction(self) -> Iterator[None]:
        """A savepoint the server dropped with its transaction ends quietly.

        DDL on MariaDB/MySQL commits and takes every savepoint with it: the
        RELEASE of ``db.create_all()``'s own ``engine.begin()`` would fail the
        test with a raw "SAVEPOINT does not exist", where the plugin reports
        the commit itself, in one line, at the test's end. SQLAlchemy has made
        the savepoint inactive after the failed statement: ending it sends nothing.
        """
        try:
            yield
        except DBAPIError as exc:
            if not self._pinned.backend.is_missing_savepoint(exc):
                raise
            self._transaction.rollback()

    def close(self) -> None:
        if not self._closed:
            if self._autocommit:
                self.commit()
            else:
                self.rollback()
            self._closed = True

    def execution_options(self, **options: Any) -> IsolatedConnection:
        # Kept to this handle: the pinned connection is shared with the whole test.
        level = options.pop("isolation_level", None)
        if level is not None:
            # AUTOCOMMIT keeps each statement's work in the sandbox at once;
            # any other level is the pinned connection's (one transaction).
            self._autocommit = str(level).upper() == "AUTOCOMMIT"
        self._options.update(options)
        return self

    def get_execution_options(self) -> Any:
        options = dict(self._connection.get_execution_options())
        options.update(self._options)
        if self._autocommit:
            options["isolation_level"] = "AUTOCOMMIT"
        return options

    def execute(self, statement: Any, parameters: Any = None, *, execution_options: Any = None):
        return self._run(
            self._connection.execute, statement, parameters, execution_options
        )

    def exec_driver_sql(self, statement: str, parameters: Any = None, execution_options=None):
        return self._run(
            self._connection.exec_driver_sql, statement, parameters, execution_options
        )

    def _run(self, method: Any, statement: Any, parameters: Any, options: Any) -> Any:
        if self._autocommit and self.in_transaction():
            # The previous statement's work stays (its result has been read by now).
            self.commit()
        self._autobegin()
        try:
            return method(statement, parameters, execution_options=self._merged(options))
        except Exception:
            if self._autocommit:
                self.rollback()
            raise

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
) | {"_pinned", "_connection", "_transaction", "_options", "_closed", "_autocommit"}


class IsolatedDriverConnection:
    """What ``engine.raw_connection()`` returns while the engine is pinned.

    The driver's API on the pinned connection, with the transaction of an
    :class:`IsolatedConnection`: ``commit()`` keeps the work inside the test's
    sandbox, ``rollback()`` and ``close()`` without a commit undo it.
    """

    def __init__(self, connection: IsolatedConnection) -> None:
        self._isolated = connection

    @property
    def dbapi_connection(self) -> Any:
        return self._isolated.connection.dbapi_connection

    driver_connection = dbapi_connection

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        self._isolated._autobegin()
        return self.dbapi_connection.cursor(*args, **kwargs)

    def commit(self) -> None:
        self._isolated.commit()

    def rollback(self) -> None:
        self._isolated.rollback()

    def close(self) -> None:
        self._isolated.close()

    def __enter__(self) -> IsolatedDriverConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.dbapi_connection, name)
