"""Where an app keeps its engines, tables and sessions: one integration per way of using SQLAlchemy.

:func:`detect` picks the one for an app; the rest of the plugin asks it only
(see :mod:`.base`).
"""

from __future__ import annotations

import importlib
from typing import Any

from flask import Flask

from ..errors import TestbedError
from .base import Integration
from .layouts import lite_key

__all__ = ["INTEGRATION", "Integration", "detect", "named_objects"]

#: key in app.extensions: the app's integration, for code that has only the app
INTEGRATION = "flask_testbed.integration"


def detect(app: Flask, settings: Any = None) -> Integration:
    """The integration of ``app``, from its extension (or the plain SQLAlchemy settings)."""
    from flask_sqlalchemy import SQLAlchemy

    from .flask_sqlalchemy import FlaskSQLAlchemyIntegration

    engine = getattr(settings, "engine", None)
    session = getattr(settings, "session", None)
    metadata = getattr(settings, "metadata", None)
    if engine or session:
        from .plain import PlainIntegration

        if not (engine and metadata):
            missing = "testbed_engine" if not engine else "testbed_metadata"
            raise TestbedError(
                f"a plain SQLAlchemy app needs {missing} too: set testbed_engine = "
                "module:engine, testbed_session = module:db_session and testbed_metadata = "
                "module:Base.metadata (e.g. myapp.database:engine)"
            )
        return PlainIntegration(
            app,
            named_objects(engine, "testbed_engine"),
            named_objects(metadata, "testbed_metadata"),
            resolve(session, "testbed_session") if session else None,
        )
    extension = app.extensions.get("sqlalchemy")
    if isinstance(extension, SQLAlchemy):
        return FlaskSQLAlchemyIntegration(app, extension)
    if _is_lite(extension):
        from .lite import LiteIntegration

        metadata = getattr(settings, "metadata", None)
        if not metadata:
            raise TestbedError(
                f"the app {app.import_name!r} uses Flask-SQLAlchemy-Lite, which has no "
                "metadata of its own: set testbed_metadata = module:attr (e.g. "
                "myapp.models:Base.metadata) to name the models' tables"
            )
        return LiteIntegration(app, extension, named_objects(metadata, "testbed_metadata"))
    raise TestbedError(
        f"the app {app.import_name!r} has no Flask-SQLAlchemy or Flask-SQLAlchemy-Lite "
        "extension: call db.init_app(app) in the factory before the tests use it, or, for "
        "plain SQLAlchemy, set testbed_engine, testbed_session and testbed_metadata"
    )


def _is_lite(extension: Any) -> bool:
    try:
        from flask_sqlalchemy_lite import SQLAlchemy as Lite
    except ImportError:
        return False
    return isinstance(extension, Lite)


def named_objects(entries: str, setting: str) -> dict[str | None, Any]:
    """``[name=]module:attr`` entries, separated by spaces: the objects they name, by name.

    No name (or "default") is the default engine's: the key None. The attr may
    be dotted (``models:Base.metadata``).
    """
    found: dict[str | None, Any] = {}
    for entry in entries.split():
        name, _, path = entry.rpartition("=")
        found[lite_key(name) if name else None] = resolve(path, setting)
    return found


def resolve(path: str, setting: str) -> Any:
    """The object ``module:attr.attr`` names, or one line saying what is wrong with it."""
    module_name, _, attrs = path.partition(":")
    if not module_name or not attrs:
        raise TestbedError(
            f"{setting} = {path!r} is not of the form module:attr (e.g. myapp.models:Base.metadata)"
        )
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise TestbedError(f"cannot import {module_name!r} for {setting} = {path}: {exc}") from None
    for attr in attrs.split("."):
        try:
            target = getattr(target, attr)
        except AttributeError:
            raise TestbedError(
                f"{path} has no attribute {attr!r} ({setting}); name an existing object"
            ) from None
    return target
