"""One rule for every engine and session: a test database has one pinned connection.

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
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from ..database.own_engines import is_apart

if TYPE_CHECKING:
    from .pinning import PinnedEngine

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


def route_sessions(
    integration: Any, by_engine: Mapping[Any, PinnedEngine], router: Router
) -> list[tuple[type, Any]]:
    """Send the integration's sessions to the pinned connections, via their ``get_bind``.

    The integration's answer for a (session, mapper, clause) is remembered
    where it says what that answer depends on (Flask-SQLAlchemy's search of
    the app's engines is a dozen calls per test), while these pins last.
    Returns each routed Session class with its own ``get_bind`` (None where
    it inherited one), for :func:`unroute_sessions`.
    """
    routes: dict[tuple[Any, ...], tuple[Any, PinnedEngine | None]] = {}

    def routed(inherited: Any) -> Any:
        def get_bind(
            session: Session, mapper: Any = None, clause: Any = None, bind: Any = None,
            **kw: Any,
        ) -> Any:
            key = integration.route_key(session, mapper, clause) if bind is None else None
            try:
                route = routes.get(key) if key is not None else None
            except TypeError:  # an unhashable mapper argument: not remembered
                route = key = None
            if route is None:
                found = inherited(session, mapper, clause=clause, bind=bind, **kw)
                route = (found, by_engine.get(found))
                if key is not None:
                    routes[key] = route
            found, pinned = route
            if pinned is None:
                # Another app's engine on one of the run's databases joins it too.
                pinned = router.find(found) if isinstance(found, Engine) else None
                if pinned is None:
                    return found
            # Set here rather than on the sessionmaker: a session created before
            # the engines were pinned would otherwise join with rollback_only.
            session.join_transaction_mode = "create_savepoint"
            return pinned.connection

        return get_bind

    originals: list[tuple[type, Any]] = []
    for cls in integration.session_classes:
        originals.append((cls, cls.__dict__.get("get_bind")))
        cls.get_bind = routed(cls.get_bind)
    return originals


def unroute_sessions(originals: list[tuple[type, Any]]) -> None:
    """Give each Session class :func:`route_sessions` changed its ``get_bind`` back."""
    for cls, own in reversed(originals):
        if own is None:
            del cls.get_bind  # it inherits its get_bind again
        else:
            cls.get_bind = own
