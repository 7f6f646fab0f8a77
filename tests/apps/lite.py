"""The shop on Flask-SQLAlchemy-Lite: every way an app reaches its database, SQLAlchemy 2 style."""

import os
import threading

from flask import Flask, jsonify, request
from flask_sqlalchemy_lite import SQLAlchemy
from sqlalchemy import ForeignKey, String, event, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class AuditBase(DeclarativeBase):
    """Tables of the second engine ("audit")."""


class Item(Base):
    __tablename__ = "item"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class Tag(Base):
    __tablename__ = "tag"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"))
    label: Mapped[str] = mapped_column(String(50))


class ItemHistory(Base):
    """Written by a versioning listener in the same flush, as SQLAlchemy-Continuum does."""

    __tablename__ = "item_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_name: Mapped[str] = mapped_column(String(50))


class AuditEntry(AuditBase):
    __tablename__ = "audit_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    message: Mapped[str] = mapped_column(String(100))


db = SQLAlchemy(session_options={"binds": {AuditBase: "audit"}})

#: "mails" sent once a commit succeeded, as an after_commit listener would
outbox = []


def record_history(session, flush_context):
    for obj in session.new:
        if isinstance(obj, Item):
            session.connection(bind_arguments={"mapper": Item.__mapper__}).execute(
                ItemHistory.__table__.insert(), {"item_name": obj.name}
            )


def session():
    return db.session


def engine(name=None):
    return db.get_engine(name or "default")


def names():
    return sorted(db.session.scalars(select(Item.name)))


def audit_count():
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


def create_app(config_name=None):
    app = Flask(__name__)
    app.config["SQLALCHEMY_ENGINES"] = {
        "default": os.environ.get("SHOP_DATABASE_URL", "sqlite://"),
        "audit": {"url": os.environ["SHOP_AUDIT_URL"]},
    }
    db.init_app(app)
    with app.app_context():
        # On the app's sessions only: sessions of other apps in the process stay as they are.
        event.listen(db.sessionmaker, "after_flush", record_history)

    @app.get("/items")
    def list_items():
        return jsonify(names())

    @app.post("/items")
    def add_item():
        db.session.add(Item(name=request.json["name"]))
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            return jsonify(error="duplicate"), 409
        return jsonify(names()), 201

    @app.post("/items/forgetful")
    def add_item_without_commit():
        """The bug a test must catch: the row is never committed."""
        db.session.add(Item(name=request.json["name"]))
        return jsonify(names()), 201

    @app.post("/items/begin")
    def add_item_in_begin_block():
        with db.session.begin():
            db.session.add(Item(name=request.json["name"]))
        return jsonify(names()), 201

    @app.post("/items/nested")
    def add_items_nested():
        db.session.add(Item(name=request.json["keep"]))
        savepoint = db.session.begin_nested()
        db.session.add(Item(name=request.json["drop"]))
        db.session.flush()
        savepoint.rollback()
        db.session.commit()
        return jsonify(names())

    @app.post("/items/named")
    def add_item_in_named_session():
        """A second session of the context, by name (db.get_session)."""
        other = db.get_session("other")
        other.add(Item(name=request.json["name"]))
        other.commit()
        return jsonify(names()), 201

    @app.post("/items/raw")
    def add_item_raw():
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO item (name) VALUES (:name)"), request.json)
        with db.engine.connect() as connection:
            connection.execute(text("INSERT INTO item (name) VALUES (:name)"),
                               {"name": request.json["name"] + "-2"})
            connection.commit()
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("INSERT INTO item (name) VALUES ('" + request.json["name"] + "-3')")
            cursor.close()
            raw.commit()
        finally:
            raw.close()
        return jsonify(names())

    @app.post("/items/threaded")
    def add_item_in_thread():
        name = request.json["name"]

        def job():
            with app.app_context():
                db.session.add(Item(name=name))
                db.session.add(AuditEntry(message=f"added {name}"))
                db.session.commit()

        worker = threading.Thread(target=job)
        worker.start()
        worker.join()
        return jsonify(names())

    @app.post("/audit")
    def audit():
        db.session.add(AuditEntry(message=request.json["message"]))
        db.session.commit()
        return jsonify(count=audit_count())

    @app.cli.command("add-item")
    def add_item_command():
        db.session.add(Item(name="from-cli"))
        db.session.commit()

    return app
