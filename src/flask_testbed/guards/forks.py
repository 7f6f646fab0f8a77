"""A process forked while a connection is pinned.

pytest-flask's ``live_server`` (multiprocessing with fork) and ``os.fork()``
copy the pinned connections into the child: the same socket, in the middle of
the run's transaction. A child that uses it reads the replies meant for the
run (MariaDB) or leaves the run waiting forever for one it took (PostgreSQL).

So, in every child forked while connections are pinned (``os.register_at_fork``,
which costs the run nothing):

- any statement the child sends to a pinned connection, and any handout of its
  driver connection, raises :class:`ForkedConnection` before the socket is
  touched (:func:`refuse_forked_child`);
- the child's copy of each pinned socket is replaced by a dead one, so nothing
  the child does by other means (a pool's cleanup as it exits) can reach the
  server on the run's connection: it meets a closed socket instead;
- every engine of the run drops its pool without closing it
  (``engine.dispose(close=False)``, SQLAlchemy's documented step for a child), so
  an engine that is not pinned (the ``truncate`` and ``recreate`` strategies)
  opens connections of the child's own.
"""

from __future__ import annotations

import contextlib
import os
import socket
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Engine

from ..errors import TestbedError


class ForkedConnection(TestbedError):
    """A forked process tried to use the run's pinned connection."""


MESSAGE = (
    "this process was forked from the test run while its database connection was "
    "pinned: a forked process cannot share it; run the server in a thread, or mark "
    "the test @pytest.mark.testbed(strategy='truncate')"
)

#: per pinned driver connection (by id), what gives its socket's file descriptor
_pinned: dict[int, tuple[Any, Callable[[Any], int | None]]] = {}
#: every engine of the run, pinned or not: its pool is the parent's
_engines: weakref.WeakSet[Engine] = weakref.WeakSet()
#: this process is a child forked while connections were pinned (read before every statement)
forked = False
_registered = False


def watch_engines(engines: Iterable[Engine]) -> None:
    """The run's engines: a child forked from now on starts them with an empty pool."""
    _register()
    _engines.update(engines)


def unwatch_engines(engines: Iterable[Engine]) -> None:
    for engine in engines:
        _engines.discard(engine)


def watch_pinned(dbapi_connection: Any, socket_of: Callable[[Any], int | None]) -> None:
    """A connection is pinned: a child forked from now on must not use it."""
    _register()
    _pinned[id(dbapi_connection)] = (dbapi_connection, socket_of)


def unwatch_pinned(dbapi_connection: Any) -> None:
    _pinned.pop(id(dbapi_connection), None)


def refuse_forked_child() -> None:
    """Before a pinned connection is used: refuse it in a forked child."""
    if forked:
        raise ForkedConnection(MESSAGE)


def _register() -> None:
    global _registered
    if not _registered:
        os.register_at_fork(after_in_child=_in_child)
        _registered = True


def _in_child() -> None:
    global forked
    if _pinned:
        forked = True
        for dbapi_connection, socket_of in _pinned.values():
            with contextlib.suppress(Exception):  # a fork must not fail on our account
                fd = socket_of(dbapi_connection)
                if fd is not None:
                    _bury(fd)
    for engine in list(_engines):
        with contextlib.suppress(Exception):
            engine.dispose(close=False)


def _bury(fd: int) -> None:
    """Point the child's ``fd`` at a socket whose peer is gone; the parent's stays as it was.

    A write then fails at once and a read sees the end of the stream: the
    driver raises, nothing waits, and nothing reaches the server (closing the
    descriptor instead would let the next socket the child opens take its
    number, and the driver write to that).
    """
    mine, peer = socket.socketpair()
    peer.close()
    os.dup2(mine.fileno(), fd, inheritable=False)  # as the socket was: closed on exec
    mine.close()
