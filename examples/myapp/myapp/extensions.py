"""The app's extensions, created once and bound to each app in ``create_app``."""

from datetime import UTC, datetime

from flask import Flask
from flask_jwt_extended import JWTManager
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
jwt = JWTManager()


def utcnow() -> datetime:
    """Now in UTC, without tzinfo: every backend stores it the same way."""
    return datetime.now(UTC).replace(tzinfo=None)


def enforce_sqlite_foreign_keys(app: Flask) -> None:
    """Turn SQLite's foreign keys on, so ON DELETE CASCADE means what it means elsewhere.

    SQLite ignores foreign keys unless each connection asks for them; without
    this, deleting a user would leave its tokens and notes behind on SQLite
    only, and a test could pass there that fails on PostgreSQL or MariaDB.
    """
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _foreign_keys_on)


def _foreign_keys_on(dbapi_connection, connection_record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()
