"""The pinned connection's driver connection, handed out only once it is safe to use.

Code that goes around SQLAlchemy reaches the driver through the pinned
Connection's ``connection`` property, however it gets there:
``db.session.get_bind().connection.dbapi_connection`` (or ``.driver_connection``),
``db.session.connection().connection``, ``engine.connect().connection``. Between
two tests a rollback the plugin sent without waiting may still be on its way:
whoever reads the socket next would take its reply for their own (wrong rows,
a protocol error on MariaDB, "another command is already in progress" on
PostgreSQL). So the property reads that reply first, and refuses callers that
must not use the connection at all (a forked child, a thread that outlived its
test).

The pinned Connection gets a subclass for that (its ``__class__`` is set,
nothing else changes): SQLAlchemy itself goes through the same property, so
its own ``get_isolation_level()`` and ``info`` are covered too. A Connection
class that refuses the assignment keeps working without it, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from ..guards.callers import check_caller

_SUBCLASSES: dict[type, type] = {}


def guard_driver_handout(connection: Connection, await_reply: Callable[[], None]) -> bool:
    """Make ``connection.connection`` check the caller and read any pending reply first.

    Returns whether the connection is guarded (False: its class refuses a subclass).
    """
    cls = type(connection)
    guarded = _SUBCLASSES.get(cls)
    if guarded is None:
        guarded = _SUBCLASSES[cls] = _subclass(cls)
    try:
        connection._testbed_before_handout = await_reply  # type: ignore[attr-defined]
        connection.__class__ = guarded
    except TypeError:  # a class with __slots__ or a layout of its own
        return False
    return True


def _subclass(cls: type) -> type:
    inherited = cls.connection  # the property as the class defines it

    def connection(self: Connection) -> Any:
        check_caller()
        self._testbed_before_handout()  # type: ignore[attr-defined]
        return inherited.__get__(self, cls)

    return type(f"Pinned{cls.__name__}", (cls,), {"connection": property(connection)})
