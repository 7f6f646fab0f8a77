"""Helpers for the ORM objects a test holds."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import inspect

T = TypeVar("T")

__all__ = ["detach"]


def detach(obj: T) -> T:
    """Take ``obj`` out of its session with its column values loaded, and return it.

    Under the plugin an object stays attached for as long as its rows exist:
    return it from a fixture of any scope and use it, no ``expunge`` needed.
    Detach only to keep a *snapshot*: an attached object is the session's one
    copy of its row, so once the code under test changes or deletes the row,
    the object reloads the new values (or raises ``ObjectDeletedError``).
    A detached object keeps the values it had::

        before = detach(note)
        client.patch(f"/notes/{before.id}", json={"title": "new"})
        after = db.session.get(Note, before.id)   # a fresh copy of the row
        assert after.title == "new" and after.body == before.body

    Unlike a bare ``session.expunge(obj)`` after a commit, which leaves an
    expired object that raises ``DetachedInstanceError`` at the first
    attribute, ``detach`` loads every column first. Relationships are not
    loaded: read the ones you need before detaching. ``obj`` must be
    persistent (committed or flushed) or already detached.
    """
    state = inspect(obj)
    if state.transient or state.pending:
        raise ValueError(
            f"cannot detach {obj!r}: it has no row yet; add it and commit (or flush) first"
        )
    if state.deleted:
        raise ValueError(f"cannot detach {obj!r}: its row was deleted in this transaction")
    session = state.session
    if session is None:
        return obj
    columns = [attr.key for attr in state.mapper.column_attrs]
    unloaded = state.unloaded
    if state.expired or any(key in unloaded for key in columns):
        session.refresh(obj, attribute_names=columns)
    session.expunge(obj)
    return obj
