"""Apps built on Flask-SQLAlchemy-Lite: named engines, sessions kept per app context in ``g``.

The extension has no metadata of its own: the tables come from the user's,
named by ``testbed_metadata``. Its sessions are plain SQLAlchemy sessions of
``db.sessionmaker`` (bound to the "default" engine, and to others through
``binds``), kept in ``g`` by name and closed by a teardown at the end of the
app context. The default engine is the key None here, as for Flask-SQLAlchemy.

Where the extension keeps each app's engines, rebuilds them and stores its
sessions is private: the fast path ``flask-sqlalchemy-lite-state`` (see
:func:`keeps_private_state`). Its public path reads ``db.engines`` and
``db.sessionmaker`` in the app's context, runs ``init_app`` again to rebuild
the engines, and keeps the sessions itself, through a ``get_session`` of the
plugin's own on the ``db`` instance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, g
from flask.globals import app_ctx
from flask_sqlalchemy_lite import SQLAlchemy
from sqlalchemy import Engine, MetaData
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from .. import fastpaths
from .base import Held, Integration, app_context_of, in_app_context, init_again
from .layouts import LITE, LITE_DEFAULT, lite_key

#: the fast path of every private name of the extension used here
FAST_PATH = "flask-sqlalchemy-lite-state"
#: where the extension keeps an app context's sessions, by name (private)
_EXTENSION_SESSIONS = "_sqlalchemy_sessions"
#: where the public path keeps them instead: a ``g`` key of the plugin's own
OWN_SESSIONS = "testbed_lite_sessions"


class LiteIntegration(Integration):
    name = "Flask-SQLAlchemy-Lite"
    layout = LITE

    def __init__(
        self, app: Flask, db: SQLAlchemy, metadatas: Mapping[str | None, MetaData]
    ) -> None:
        super().__init__(app)
        self.db = db
        self._metadatas = dict(metadatas)
        self._sessions = _sessions_of(db, app)

    @property
    def extension(self) -> SQLAlchemy:
        return self.db

    def session(self) -> Session:
        return self.db.session

    def _engines_and_sessionmaker(self) -> tuple[dict[str, Engine], Any]:
        """The configured app's, whatever app context is current: the run is its."""
        if fastpaths.enabled(FAST_PATH):
            state = self.db._app_state[self.app]
            return state.engines, state.sessionmaker
        with app_context_of(self.app):
            return self.db.engines, self.db.sessionmaker

    @property
    def engines(self) -> Mapping[str | None, Engine]:
        engines, _maker = self._engines_and_sessionmaker()
        return {lite_key(name): engine for name, engine in engines.items()}

    @property
    def metadatas(self) -> Mapping[str | None, MetaData]:
        return self._metadatas

    @property
    def session_classes(self) -> tuple[type[Session], ...]:  # type: ignore[override]
        _engines, maker = self._engines_and_sessionmaker()
        return (maker.class_,)

    # -- sessions: the extension's storage, or the plugin's own -------------

    def context_sessions(self) -> list[Session]:
        if not app_ctx:
            return []
        return list(g.get(self._sessions.key, {}).values())

    def take_sessions(self) -> Held:
        self.db.get_session()  # the default one, which session-scoped fixtures use
        return dict(g.get(self._sessions.key, {}))

    def held_sessions(self, held: Held) -> list[Session]:
        return list(held.values())

    def put_sessions(self, held: Held) -> None:
        # A dict of the test's own: the sessions it makes by name close with its context.
        setattr(g, self._sessions.key, dict(held))

    def drop_sessions(self, held: Held) -> None:
        sessions = g.get(self._sessions.key, {})
        for name, session in held.items():
            if sessions.get(name) is session:
                del sessions[name]

    def remove_sessions(self) -> None:
        if app_ctx:
            self._sessions.close(None)

    def owns_teardown(self, func: Callable[..., Any]) -> bool:
        return func is self._sessions.close

    def install(self) -> None:
        self._sessions.install()

    def uninstall(self) -> None:
        self._sessions.uninstall()

    # -- engines made before the run claimed its databases --------------------

    def use_urls(self, plan: Mapping[str | None, URL]) -> None:
        """Make the engines again from the rewritten config; the sessionmaker binds the new ones."""
        engines, _maker = self._engines_and_sessionmaker()
        wanted = {(LITE_DEFAULT if key is None else key): url for key, url in plan.items()}
        if all(name in engines and engines[name].url == url for name, url in wanted.items()):
            return
        if fastpaths.enabled(FAST_PATH):
            _make_engines_again(self.db, self.app)
        else:
            self._init_again()

    def _init_again(self) -> None:
        """The public way to new engines: ``init_app`` again, its registrations undone.

        ``init_app`` reads the config, which holds the test URLs by now. What
        it registers again (a teardown, a shell context processor) would run
        twice; what the app configured on the old sessionmakers (their
        options, the listeners on their class) would be lost: both are put
        back. The async engines are made again too, on the same URLs: the old
        ones are left as they are (disposing one needs an event loop).
        """
        app, db = self.app, self.db
        with app_context_of(self.app):
            before = _makers(db)
        for engine in before[0][1].values():
            engine.dispose()
        init_again(app, db, self.name)
        with app_context_of(self.app):
            after = _makers(db)
        moved = {
            engine: new[name]
            for (_old_maker, old), (_new_maker, new) in zip(before, after, strict=True)
            for name, engine in old.items()
            if name in new
        }
        for (old_maker, _old), (new_maker, _new) in zip(before, after, strict=True):
            _carry_over(old_maker, new_maker, moved)


def _makers(db: SQLAlchemy) -> list[tuple[Any, dict[str, Any]]]:
    """The current app's sessionmaker and its engines, then the async ones."""
    return [(db.sessionmaker, dict(db.engines)), (db.async_sessionmaker, dict(db.async_engines))]


def _carry_over(old: Any, new: Any, moved: Mapping[Any, Any]) -> None:
    """What the app configured on a sessionmaker ``init_app`` replaced, on the new engines."""
    options = {key: value for key, value in old.kw.items() if key not in ("bind", "binds")}
    # The extension resolves the engine names of "binds" in place, in the
    # options it keeps: a second init_app finds the old engines there.
    binds = {key: moved.get(bind, bind) for key, bind in (old.kw.get("binds") or {}).items()}
    new.configure(**options, **({"binds": binds} if binds else {}))
    # The listeners set on the sessionmaker (event.listen(db.sessionmaker, ...)) are its class's.
    new.class_ = old.class_


class _ExtensionSessions:
    """The fast path: the extension's own ``g`` key and teardown."""

    key = _EXTENSION_SESSIONS

    def __init__(self) -> None:
        from flask_sqlalchemy_lite import _extension

        self.close: Callable[[BaseException | None], None] = _extension._close_sessions

    def install(self) -> None:
        pass

    def uninstall(self) -> None:
        pass


class _OwnSessions:
    """The public path: Lite's contract of ``get_session`` kept by the plugin.

    The same name gives the same session within an app context, made from
    ``db.sessionmaker`` and closed when the context ends. The instance
    attribute shadows the method for ``db.session`` and ``db.get_session``
    alike; the extension's own teardown then finds nothing to close. Only the
    configured app's contexts: the teardown is registered on that app alone.
    """

    key = OWN_SESSIONS

    def __init__(self, db: SQLAlchemy, app: Flask) -> None:
        self.db = db
        self.app = app
        # Bound once: owns_teardown and uninstall compare them by identity.
        self.get_session: Callable[..., Session] = self._get_session
        self.close: Callable[[BaseException | None], None] = self._close

    def _get_session(self, name: str = "default") -> Session:
        if not in_app_context(self.app):
            # Another app on the same extension: its teardowns are the extension's.
            return SQLAlchemy.get_session(self.db, name)
        sessions: dict[str, Session] = g.setdefault(self.key, {})
        if name not in sessions:
            sessions[name] = self.db.sessionmaker()
        return sessions[name]

    def _close(self, error: BaseException | None) -> None:
        for session in (g.pop(self.key, None) or {}).values():
            session.close()

    def install(self) -> None:
        self.db.get_session = self.get_session  # type: ignore[method-assign]
        funcs = self.app.teardown_appcontext_funcs
        if self.close not in funcs:
            # First in the list, so run last (Flask runs them newest first): every
            # teardown of the app's may still use the sessions.
            funcs.insert(0, self.close)

    def uninstall(self) -> None:
        if in_app_context(self.app):
            # The run's context pops after this: the teardown that would close them is gone.
            self._close(None)
        if vars(self.db).get("get_session") is self.get_session:
            del self.db.get_session
        funcs = self.app.teardown_appcontext_funcs
        if self.close in funcs:
            funcs.remove(self.close)


def _sessions_of(db: SQLAlchemy, app: Flask) -> _ExtensionSessions | _OwnSessions:
    if fastpaths.enabled(FAST_PATH):
        return _ExtensionSessions()
    return _OwnSessions(db, app)


def _make_engines_again(db: SQLAlchemy, app: Flask) -> None:
    """The fast path: new engines in the extension's state, the sessionmaker moved onto them."""
    from flask_sqlalchemy_lite._make import _make_engines

    state = db._app_state[app]
    old = dict(state.engines)
    for engine in old.values():
        engine.dispose()
    state.engines = _make_engines(app, db._engine_options, False)
    new = {old[name]: engine for name, engine in state.engines.items() if name in old}
    kw = state.sessionmaker.kw
    if kw.get("bind") in new:
        kw["bind"] = new[kw["bind"]]
    for key, bind in (kw.get("binds") or {}).items():
        if bind in new:
            kw["binds"][key] = new[bind]


def keeps_private_state() -> str | None:
    """None when Flask-SQLAlchemy-Lite still has every private name the fast path uses.

    Else what is missing. Read from the code objects, without an app: cheap,
    at start-up.
    """
    import flask_sqlalchemy_lite  # noqa: F401  (not installed: an ImportError, reported so)

    try:
        from flask_sqlalchemy_lite import _extension, _make
    except ImportError:
        return "Flask-SQLAlchemy-Lite has no _extension or _make module"
    close = getattr(_extension, "_close_sessions", None)
    state = getattr(_extension, "_State", None)
    checks = {
        "SQLAlchemy._app_state/_engine_options": {"_app_state", "_engine_options"}
        <= set(SQLAlchemy.__init__.__code__.co_names),
        "_State.engines/sessionmaker": {"engines", "sessionmaker"}
        <= set(getattr(state, "__annotations__", ())),
        "_make._make_engines": callable(getattr(_make, "_make_engines", None)),
        "_close_sessions closing g._sqlalchemy_sessions": close is not None
        and _EXTENSION_SESSIONS in close.__code__.co_consts,
        "get_session in g._sqlalchemy_sessions": _EXTENSION_SESSIONS
        in SQLAlchemy.get_session.__code__.co_consts,
    }
    missing = [name for name, found in checks.items() if not found]
    return f"Flask-SQLAlchemy-Lite has no {', no '.join(missing)}" if missing else None
