"""Apps built on Flask-SQLAlchemy-Lite: named engines, sessions kept per app context in ``g``.

The extension has no metadata of its own: the tables come from the user's,
named by ``testbed_metadata``. Its sessions are plain SQLAlchemy sessions of
``db.sessionmaker`` (bound to the "default" engine, and to others through
``binds``), kept in ``g._sqlalchemy_sessions`` by name and closed by a
teardown of the extension's. The default engine is the key None here, as for
Flask-SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, g
from flask.globals import app_ctx
from flask_sqlalchemy_lite import SQLAlchemy
from flask_sqlalchemy_lite import _extension as lite
from flask_sqlalchemy_lite._make import _make_engines
from sqlalchemy import Engine, MetaData
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from .base import Held, Integration
from .layouts import LITE, lite_key

#: where the extension keeps an app context's sessions, by name
_SESSIONS = "_sqlalchemy_sessions"


class LiteIntegration(Integration):
    name = "Flask-SQLAlchemy-Lite"
    layout = LITE

    def __init__(
        self, app: Flask, db: SQLAlchemy, metadatas: Mapping[str | None, MetaData]
    ) -> None:
        super().__init__(app)
        self.db = db
        self._metadatas = dict(metadatas)

    @property
    def extension(self) -> SQLAlchemy:
        return self.db

    def session(self) -> Session:
        return self.db.session

    def _state(self) -> Any:
        # The configured app's, whatever app context is current: the run is its.
        return self.db._app_state[self.app]

    @property
    def engines(self) -> Mapping[str | None, Engine]:
        return {lite_key(name): engine for name, engine in self._state().engines.items()}

    @property
    def metadatas(self) -> Mapping[str | None, MetaData]:
        return self._metadatas

    @property
    def session_classes(self) -> tuple[type[Session], ...]:  # type: ignore[override]
        return (self._state().sessionmaker.class_,)

    def context_sessions(self) -> list[Session]:
        if not app_ctx:
            return []
        return list(g.get(_SESSIONS, {}).values())

    def take_sessions(self) -> Held:
        self.db.get_session()  # the default one, which session-scoped fixtures use
        return dict(g.get(_SESSIONS, {}))

    def held_sessions(self, held: Held) -> list[Session]:
        return list(held.values())

    def put_sessions(self, held: Held) -> None:
        # A dict of the test's own: the sessions it makes by name close with its context.
        setattr(g, _SESSIONS, dict(held))

    def drop_sessions(self, held: Held) -> None:
        sessions = g.get(_SESSIONS, {})
        for name, session in held.items():
            if sessions.get(name) is session:
                del sessions[name]

    def remove_sessions(self) -> None:
        if app_ctx:
            lite._close_sessions(None)

    def owns_teardown(self, func: Callable[..., Any]) -> bool:
        return func is lite._close_sessions

    def use_urls(self, plan: Mapping[str | None, URL]) -> None:
        """Make the engines again from the rewritten config; the sessionmaker binds the new ones."""
        state = self._state()
        if all(
            state.engines.get(name) is not None
            and state.engines[name].url == url
            for name, url in ((("default" if k is None else k), u) for k, u in plan.items())
        ):
            return
        old = dict(state.engines)
        for engine in old.values():
            engine.dispose()
        state.engines = _make_engines(self.app, self.db._engine_options, False)
        new = {old[name]: engine for name, engine in state.engines.items() if name in old}
        kw = state.sessionmaker.kw
        if kw.get("bind") in new:
            kw["bind"] = new[kw["bind"]]
        for key, bind in (kw.get("binds") or {}).items():
            if bind in new:
                kw["binds"][key] = new[bind]
