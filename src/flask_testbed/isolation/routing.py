"""One rule for every engine: a test database has one pinned connection.

Any engine the process opens to one of the run's test databases (the app's
binds, a copy made with ``engine.execution_options(...)``, a second app's
engine built inside a test, a plain ``create_engine()`` in app code) gets the
pinned connection of that database when it connects: same database, same
connection, so every bind and every app agrees on what is committed, and
nothing commits for real. ``Engine.connect``, ``begin`` and ``raw_connection`` are
routed here while a run pins connections; the plugin's own engines (the leak
check's observer, the server's maintenance connections) are kept apart.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from ..database.own_engines import is_apart

#: the methods as SQLAlchemy defines them, used by the plugin itself
original_connect: Callable[[Engine], Any] = Engine.connect
original_raw_connection: Callable[[Engine], Any] = Engine.raw_connection
original_begin: Callable[[Engine], Any] = Engine.begin

def database_key(engine: Engine) -> tuple[Any, ...] | None:
    """What makes two engines reach the same database, or None for a private one.

    An in-memory SQLite database exists once per connection pool: only its
    own engine (and copies sharing the pool) reach it.
    """
    url: URL = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None
    if url.get_backend_name() == "sqlite" and "mode=memory" in str(url):
        return None
    mapping = engine.get_execution_options().get("schema_translate_map") or {}
    return (
        url.get_backend_name(),
        url.host,
        url.port,
        url.database,
        tuple(sorted(mapping.items(), key=str)),
    )


class Router:
    """Where each engine's connections go while connections are pinned."""

    def __init__(self) -> None:
        # By pool: an engine's copies share it, and dispose() replaces it.
        self._by_pool: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self._by_database: dict[tuple[Any, ...], Any] = {}
        #: pools seen that reach no pinned database (an answer kept, like the others)
        self._elsewhere: weakref.WeakSet[Any] = weakref.WeakSet()

    def add(self, engine: Engine, pinned: Any) -> None:
        """Connections of ``engine`` (and of every engine on its database) go to ``pinned``."""
        self._by_pool[engine.pool] = pinned
        key = database_key(engine)
        if key is not None:
            self._by_database.setdefault(key, pinned)
        self._elsewhere.clear()

    def pinned_for_key(self, engine: Engine) -> Any:
        key = database_key(engine)
        return self._by_database.get(key) if key is not None else None

    def clear(self) -> None:
        self._by_pool.clear()
        self._by_database.clear()
        self._elsewhere.clear()

    def find(self, engine: Engine) -> Any:
        pool = engine.pool
        pinned = self._by_pool.get(pool)
        if pinned is not None or pool in self._elsewhere:
            return pinned
        if not is_apart(engine):
            pinned = self.pinned_for_key(engine)
        if pinned is None:
            self._elsewhere.add(pool)
        else:
            self._by_pool[pool] = pinned
        return pinned


#: the router of the run that pins connections now (one per process)
active: Router | None = None


def install(router: Router) -> None:
    global active
    active = router
    Engine.connect = _connect  # type: ignore[method-assign]
    Engine.begin = _begin  # type: ignore[method-assign]
    Engine.raw_connection = _raw_connection  # type: ignore[method-assign]


def uninstall(router: Router) -> None:
    global active
    if active is router:
        active = None
        Engine.connect = original_connect  # type: ignore[method-assign]
        Engine.begin = original_begin  # type: ignore[method-assign]
        Engine.raw_connection = original_raw_connection  # type: ignore[method-assign]


def _routed(original: Callable[[Engine], Any], method: str) -> Callable[[Engine], Any]:
    """``Engine.<method>`` while routing: the pinned connection's when there is one."""

    def routed(engine: Engine) -> Any:
        router = active
        pinned = router.find(engine) if router is not None else None
        if pinned is None:
            return original(engine)
        return getattr(pinned, method)(engine)

    return routed


_connect = _routed(original_connect, "hand_out")
_begin = _routed(original_begin, "begin")
_raw_connection = _routed(original_raw_connection, "hand_out_raw")
