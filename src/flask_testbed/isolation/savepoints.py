"""SQLAlchemy's savepoint statements on a pinned connection, sent straight to the driver.

Every request a test makes runs in a session of its own, which joins the
pinned connection with a savepoint: ``SAVEPOINT`` when it first connects,
``RELEASE`` on commit, ``ROLLBACK TO`` when the request ends (and, where the
backend asks for it, a ``RELEASE`` with it: the test's transaction outlives
the request, and would otherwise keep its savepoint until the test ends). Run through
SQLAlchemy, each of them is compiled anew (each savepoint has a new name, so
the statement cache never hits) and wrapped in an execution context: about
0.15 ms apiece, three per request, more than the request's own SELECT. Sent
to the driver the way the plugin sends its own per-test statements, they cost
what the driver costs.

Only SQLAlchemy's private ``Connection._savepoint_impl``,
``_rollback_to_savepoint_impl`` and ``_release_savepoint_impl`` lead there;
:func:`send_savepoints_directly` detects them and otherwise leaves SQLAlchemy's
own (slower, equivalent) path in place. What stays the same either way: the
connection's ``savepoint`` / ``rollback_savepoint`` / ``release_savepoint``
events fire, a driver error is raised as SQLAlchemy's ``DBAPIError`` subclass
(a lost connection invalidated, as SQLAlchemy does), and nothing runs on a
connection that is closed or invalidated.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from .. import fastpaths

_METHODS = ("_savepoint_impl", "_rollback_to_savepoint_impl", "_release_savepoint_impl")
#: SQLAlchemy's flags for "some listener exists": its own path looks at them first (a
#: class attribute since 2.1, set by each Connection before; dispatching regardless
#: where one is missing costs time, not correctness)
_FLAG = "_has_events"


def send_savepoints_directly(
    connection: Connection,
    run: Callable[[Sequence[str], bool], None],
    release_rolled_back: bool = False,
) -> bool:
    """Have ``connection``'s savepoint statements run by ``run`` instead of SQLAlchemy.

    ``run(statements, wait)`` executes statements on the driver connection
    (under the pinned connection's lock). ``wait`` is False for SAVEPOINT and
    ROLLBACK TO: nothing reads their result, and where the driver allows they
    are sent without waiting for the reply, which is read before the
    connection's next statement (for a SAVEPOINT, the one it was opened for,
    which SQLAlchemy builds meanwhile). RELEASE is waited for: it is the app's
    commit, and a commit that fails must fail there.
    ``release_rolled_back`` sends a RELEASE with it: SQLAlchemy never uses a
    savepoint again once it rolled back to it, while the server keeps it (and
    every statement after it pays for the nesting) until the test ends.
    Returns False, changing nothing, where this SQLAlchemy has no such methods
    to replace.
    """
    if not (fastpaths.enabled("direct-savepoints") and _replaceable(type(connection))):
        return False
    names = itertools.count(1)
    quote = connection.dialect.identifier_preparer.quote
    engine = connection.engine

    def listened() -> bool:
        # As SQLAlchemy does: its event dispatch is read only once a listener exists.
        return getattr(connection, _FLAG, True) or getattr(engine, _FLAG, True)

    def execute(statement: str, wait: bool = True, then: str | None = None) -> None:
        # A failed reply to an earlier statement sent without waiting is raised
        # here as the plugin's ReplyFailed, which the test's end reports.
        try:
            run((statement,) if then is None else (statement, then), wait)
        except connection.dialect.loaded_dbapi.Error as error:
            raise _wrapped(connection, statement, error) from error

    def savepoint(name: str | None = None) -> str:
        if listened():
            connection.dispatch.savepoint(connection, name)
        if name is None:
            name = f"tb_savepoint_{next(names)}"
        execute(f"SAVEPOINT {quote(name)}", wait=False)
        return name

    def rollback_to_savepoint(name: str) -> None:
        if listened():
            connection.dispatch.rollback_savepoint(connection, name, None)
        if not connection.closed and not connection.invalidated:
            quoted = quote(name)
            release = f"RELEASE SAVEPOINT {quoted}" if release_rolled_back else None
            execute(f"ROLLBACK TO SAVEPOINT {quoted}", wait=False, then=release)

    def release_savepoint(name: str) -> None:
        if listened():
            connection.dispatch.release_savepoint(connection, name, None)
        execute(f"RELEASE SAVEPOINT {quote(name)}")

    connection._savepoint_impl = savepoint  # type: ignore[method-assign]
    connection._rollback_to_savepoint_impl = rollback_to_savepoint  # type: ignore[method-assign]
    connection._release_savepoint_impl = release_savepoint  # type: ignore[method-assign]
    return True


def _replaceable(cls: type) -> bool:
    """Whether ``cls`` routes its savepoints through the three methods this module replaces."""
    return all(callable(getattr(cls, name, None)) for name in _METHODS)


def _wrapped(connection: Connection, statement: str, error: Exception) -> DBAPIError:
    """``error`` as SQLAlchemy would raise it from ``statement``, invalidating a lost connection."""
    dialect = connection.dialect
    lost = False
    try:
        lost = bool(dialect.is_disconnect(error, connection.connection.dbapi_connection, None))
    except Exception:  # a dialect that cannot judge a raw driver error: not known lost
        lost = False
    if lost:
        connection.invalidate(error)
    wrapped: Any = DBAPIError.instance(
        statement,
        None,
        error,
        dialect.loaded_dbapi.Error,
        connection_invalidated=lost,
        dialect=dialect,
    )
    return wrapped
