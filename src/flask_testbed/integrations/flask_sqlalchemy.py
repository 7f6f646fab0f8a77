"""Apps built on Flask-SQLAlchemy 3.1: ``db.session`` is a session per app context."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession
from sqlalchemy import Engine, MetaData
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from .. import fastpaths
from .base import Held, Integration, app_context_of, init_again
from .layouts import FLASK_SQLALCHEMY


class FlaskSQLAlchemyIntegration(Integration):
    name = "Flask-SQLAlchemy"
    layout = FLASK_SQLALCHEMY
    # The extension's Session class itself, not a db.session's subclass:
    # legacy code that replaces db.session with a scoped session of its own
    # is routed too.
    session_classes = (FlaskSQLAlchemySession,)

    def __init__(self, app: Flask, db: SQLAlchemy) -> None:
        super().__init__(app)
        self.db = db

    @property
    def extension(self) -> SQLAlchemy:
        return self.db

    def session(self) -> Any:
        return self.db.session

    @property
    def engines(self) -> Mapping[str | None, Engine]:
        return self.db.engines

    @property
    def metadatas(self) -> Mapping[str | None, MetaData]:
        return self.db.metadatas

    def route_key(self, session: Session, mapper: Any, clause: Any) -> tuple[Any, ...] | None:
        """What the extension's ``get_bind`` looks at, or None where it cannot be remembered.

        Its answer depends on the extension, the current app, the mapper and
        the clause's table only (given a default engine, which ends its
        search), and finding the app's engines is most of its cost.
        """
        db = getattr(session, "_db", None)  # private: a fast path (see keeps_its_extension)
        if db is None or not fastpaths.enabled("flask-sqlalchemy-bind-cache"):
            return None
        try:
            app = current_app._get_current_object()
        except RuntimeError:  # no app context: the extension raises its own error
            return None
        if None not in db.engines:
            return None
        table = None
        if isinstance(clause, sa.Table):
            table = clause
        elif isinstance(clause, sa.UpdateBase) and isinstance(clause.table, sa.Table):
            table = clause.table
        return (db, app, mapper, table)

    def is_routed_session(self, session: Session) -> bool:
        return isinstance(session, FlaskSQLAlchemySession)

    def context_sessions(self) -> list[Session]:
        scoped = self.db.session
        return [scoped()] if scoped.registry.has() else []

    def take_sessions(self) -> Held:
        return self.db.session()

    def held_sessions(self, held: Held) -> list[Session]:
        return [held]

    def put_sessions(self, held: Held) -> None:
        self.db.session.registry.set(held)

    def drop_sessions(self, held: Held) -> None:
        self.db.session.registry.clear()

    def remove_sessions(self) -> None:
        self.db.session.remove()

    def owns_teardown(self, func: Callable[..., Any]) -> bool:
        return getattr(func, "__self__", None) is self.db

    def use_urls(self, plan: Mapping[str | None, URL]) -> None:
        """Make each engine whose URL changes again, with the options the extension would use.

        The config holds the claimed URLs already. The fast path rebuilds only
        those engines; the public path runs the extension's ``init_app`` again.
        """
        with app_context_of(self.app):
            current = dict(self.db.engines)
        if all(key in current and current[key].url == url for key, url in plan.items()):
            return
        if fastpaths.enabled("flask-sqlalchemy-engine-rebuild"):
            self._rebuild_engines(plan)
        else:
            init_again(self.app, self.db, self.name)

    def _rebuild_engines(self, plan: Mapping[str | None, URL]) -> None:
        db, app = self.db, self.app
        engines = db._app_engines[app]
        for key, url in plan.items():
            current = engines.get(key)
            if current is not None and current.url == url:
                continue
            if current is not None:
                current.dispose()
            if key is None:
                options: dict[str, Any] = dict(db._engine_options)
                options.update(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
            else:
                value = app.config["SQLALCHEMY_BINDS"][key]
                options = dict(db._engine_options)
                options.update(value if isinstance(value, dict) else {})
            options["url"] = url
            options.setdefault("echo", app.config.get("SQLALCHEMY_ECHO", False))
            options.setdefault("echo_pool", options["echo"])
            db._make_metadata(key)
            db._apply_driver_defaults(options, app)
            engines[key] = db._make_engine(key, options, app)
            if app.config.get("SQLALCHEMY_RECORD_QUERIES"):
                from flask_sqlalchemy import record_queries

                record_queries._listen(engines[key])


def rebuilds_engines() -> str | None:
    """None when Flask-SQLAlchemy still makes its engines the way ``_rebuild_engines`` copies."""
    from flask_sqlalchemy import record_queries

    needed = ("_make_metadata", "_apply_driver_defaults", "_make_engine")
    missing = [name for name in needed if not callable(getattr(SQLAlchemy, name, None))]
    kept = SQLAlchemy.__init__.__code__.co_names
    missing += [name for name in ("_app_engines", "_engine_options") if name not in kept]
    if not callable(getattr(record_queries, "_listen", None)):
        missing.append("record_queries._listen")
    return f"Flask-SQLAlchemy has no {', '.join(missing)}" if missing else None


def keeps_its_extension() -> bool:
    """Whether Flask-SQLAlchemy's Session keeps its extension as ``_db`` (the route cache's key)."""
    return "_db" in FlaskSQLAlchemySession.__init__.__code__.co_names
