"""Where an app keeps its engines, tables and sessions: one integration per way of using SQLAlchemy.

:func:`detect` picks the one for an app; the rest of the plugin asks it only
(see :mod:`.base`).
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from ..errors import TestbedError
from .base import Integration

__all__ = ["Integration", "detect"]


def detect(app: Flask, settings: Any = None) -> Integration:
    """The integration of ``app``, from its extension."""
    from flask_sqlalchemy import SQLAlchemy

    from .flask_sqlalchemy import FlaskSQLAlchemyIntegration

    extension = app.extensions.get("sqlalchemy")
    if isinstance(extension, SQLAlchemy):
        return FlaskSQLAlchemyIntegration(app, extension)
    raise TestbedError(
        f"the app {app.import_name!r} has no Flask-SQLAlchemy extension: "
        "call db.init_app(app) in the factory before the tests use it"
    )
