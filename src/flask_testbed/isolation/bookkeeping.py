"""SQLAlchemy's books about savepoints and objects, once the server rolled back past them.

At a scope's end the server has undone the scope's writes; SQLAlchemy still
holds the savepoints the app's sessions began there and the objects whose
rows are gone. Ending those without a statement needs SQLAlchemy's private
chain of savepoints (the ``sqlalchemy-savepoint-bookkeeping`` fast path);
its public path rolls them back one by one first, while the server still
has them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from .. import fastpaths

if TYPE_CHECKING:
    from .pinning import PinnedEngine


def roll_back_left_open(pinned: PinnedEngine, base: Any) -> None:
    """Roll back the savepoints the app left open inside the scope (leaked handles)."""
    connection = pinned.connection
    assert connection is not None
    while (nested := connection.get_nested_transaction()) is not None and nested is not base:
        try:
            nested.rollback()
        except DBAPIError:
            break


def forget_inserted(inserted: list[tuple[Session, Any]]) -> None:
    """Take the objects whose rows were rolled back out of their sessions.

    A session that holds nothing else is emptied in one call: expunging
    object by object walks each one's cascades, a few microseconds apiece.
    """
    by_session: dict[Session, list[Any]] = {}
    for session, instance in inserted:
        by_session.setdefault(session, []).append(instance)
    for session, instances in by_session.items():
        mine = {id(instance) for instance in instances}
        if not session.new and not session.deleted and all(
            id(state.obj()) in mine for state in session.identity_map.all_states()
        ):
            session.expunge_all()
            continue
        for instance in instances:
            if instance in session:
                session.expunge(instance)


def disarm_savepoints(pinned: PinnedEngine, base: Any) -> None:
    """Mark SQLAlchemy's savepoints above ``base`` as ended, without a statement.

    Only after the server has rolled back past them: their rollback is then
    bookkeeping (``is_active`` is the flag SQLAlchemy itself clears when the
    outer transaction ends and takes its savepoints with it). A fast path:
    the chain of savepoints is private (see :func:`walks_savepoints`).
    """
    assert pinned.connection is not None
    nested = pinned.connection.get_nested_transaction()
    while nested is not None and nested is not base:
        nested.is_active = False
        nested = nested._previous_nested


def forget_savepoints(pinned: PinnedEngine) -> None:
    """After a commit behind our back: end SQLAlchemy's savepoints, which the server lost.

    The public path ends the outer transaction, which takes SQLAlchemy's
    savepoints with it (one ROLLBACK more, which the run's end sends anyway).
    """
    if fastpaths.enabled("sqlalchemy-savepoint-bookkeeping"):
        disarm_savepoints(pinned, None)
        return
    assert pinned.connection is not None
    transaction = pinned.connection.get_transaction()
    if transaction is not None and transaction.is_active:
        try:
            transaction.rollback()
        except DBAPIError:
            # The server dropped the connection: the pool must not get it back.
            pinned.connection.invalidate()


def walks_savepoints() -> bool:
    """Whether SQLAlchemy's savepoints link to the one they were begun in (``_previous_nested``)."""
    from sqlalchemy.engine.base import NestedTransaction

    return "_previous_nested" in getattr(NestedTransaction, "__slots__", ())
