"""Finding the user's Flask app, building it, and pointing it at the test database."""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.engine import URL, make_url

from .database.safety import check_test_databases
from .errors import TestbedError

IN_MEMORY = "sqlite://"


def load_app(
    path: str,
    factory_argument: str | None,
    database_url: str | None,
    allow_any_database: bool,
    rootdir: Path,
) -> Flask:
    """Import ``module:attr`` and return the Flask app it names, in testing mode.

    A factory is called while the extension's ``init_app`` is wrapped, so that
    the test database URL is in place and judged safe before the first engine
    exists: a factory that creates tables itself never reaches another database.
    """
    target = _import_target(path, rootdir)
    if isinstance(target, Flask):
        app = target
    elif callable(target):
        with _test_database_on_init(database_url, allow_any_database):
            try:
                app = target(factory_argument) if factory_argument else target()
            except TestbedError:
                raise
            except Exception as exc:
                raise TestbedError(
                    f"the app factory {path} raised {type(exc).__name__}: {_one_line(exc)}; "
                    "fix the factory or testbed_app_config"
                ) from None
        if not isinstance(app, Flask):
            raise TestbedError(
                f"the app factory {path} returned {type(app).__name__}, not a Flask app; "
                "point testbed_app at the factory or at the app object"
            )
    else:
        raise TestbedError(
            f"{path} is a {type(target).__name__}, neither a Flask app nor a factory; "
            "set testbed_app to module:app or module:create_app"
        )
    app.config["TESTING"] = True
    return app


def extension_of(app: Flask) -> SQLAlchemy:
    """The Flask-SQLAlchemy extension registered on ``app``."""
    db = app.extensions.get("sqlalchemy")
    if not isinstance(db, SQLAlchemy):
        raise TestbedError(
            f"the app {app.import_name!r} has no Flask-SQLAlchemy extension: "
            "call db.init_app(app) in the factory before the tests use it"
        )
    return db


def database_urls(app: Flask) -> list[tuple[str | None, str | URL]]:
    """Every bind of the app as (bind key, URL), the default bind first."""
    urls: list[tuple[str | None, str | URL]] = []
    if app.config.get("SQLALCHEMY_DATABASE_URI"):
        urls.append((None, app.config["SQLALCHEMY_DATABASE_URI"]))
    for key, value in (app.config.get("SQLALCHEMY_BINDS") or {}).items():
        url = value.get("url") if isinstance(value, dict) else value
        if url is not None:
            urls.append((key, url))
    return urls


def use_test_database(app: Flask, db: SQLAlchemy, database_url: str | None) -> None:
    """Point an app whose engines already exist at ``database_url``.

    Flask-SQLAlchemy reads its config once, in ``init_app``; an app object
    built before the plugin could see it gets its default engine rebuilt with
    the same options the extension would have used.
    """
    if database_url is None:
        return
    engines = db._app_engines[app]
    current = engines.get(None)
    if current is not None and current.url == make_url(database_url):
        return
    if current is not None:
        current.dispose()
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url
    options: dict[str, Any] = dict(db._engine_options)
    options.update(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
    options["url"] = database_url
    options.setdefault("echo", app.config.get("SQLALCHEMY_ECHO", False))
    options.setdefault("echo_pool", options["echo"])
    db._make_metadata(None)
    db._apply_driver_defaults(options, app)
    engines[None] = db._make_engine(None, options, app)
    if app.config.get("SQLALCHEMY_RECORD_QUERIES"):
        from flask_sqlalchemy import record_queries

        record_queries._listen(engines[None])


@contextlib.contextmanager
def _test_database_on_init(database_url: str | None, allow_any: bool) -> Iterator[None]:
    original = SQLAlchemy.init_app

    def init_app(self: SQLAlchemy, app: Flask) -> None:
        if database_url:
            app.config["SQLALCHEMY_DATABASE_URI"] = database_url
        elif not app.config.get("SQLALCHEMY_DATABASE_URI") and not app.config.get(
            "SQLALCHEMY_BINDS"
        ):
            app.config["SQLALCHEMY_DATABASE_URI"] = IN_MEMORY
        check_test_databases(database_urls(app), allow_any)
        original(self, app)

    SQLAlchemy.init_app = init_app  # type: ignore[method-assign]
    try:
        yield
    finally:
        SQLAlchemy.init_app = original  # type: ignore[method-assign]


def _import_target(path: str, rootdir: Path) -> Any:
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise TestbedError(
            f"testbed_app = {path!r} is not of the form module:attr "
            "(e.g. myapp:create_app or wsgi:app)"
        )
    # Like `flask --app`, look in the project directory first.
    if str(rootdir) not in sys.path:
        sys.path.insert(0, str(rootdir))
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise TestbedError(
            f"cannot import {module_name!r} for testbed_app = {path}: "
            f"{type(exc).__name__}: {_one_line(exc)}; "
            "check the module path and that its directory is on sys.path"
        ) from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise TestbedError(
            f"module {module_name!r} has no attribute {attr!r} (testbed_app = {path}); "
            "name the app object or the factory"
        ) from None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
