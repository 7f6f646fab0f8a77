"""The shop on plain SQLAlchemy, wired by hand as the Flask docs show (no extension).

The engines are made when the module is imported; ``db_session`` is a
``scoped_session`` that a ``teardown_appcontext`` removes.
"""

import os
import threading

from flask import Flask, jsonify, request
from sqlalchemy import ForeignKey, String, create_engine, event, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, scoped_session, sessionmaker

engine = create_engine(os.environ.get("SHOP_DATABASE_URL", "sqlite://"))
audit_engine = create_engine(os.environ["SHOP_AUDIT_URL"])


class Base(DeclarativeBase):
    pass


class AuditBase(DeclarativeBase):
    """Tables of the second engine."""


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


SessionFactory = sessionmaker(bind=engine, binds={AuditBase: audit_engine})
db_session = scoped_session(SessionFactory)


@event.listens_for(SessionFactory, "after_flush")
def record_history(session, flush_context):
    for obj in session.new:
        if isinstance(obj, Item):
            session.connection(bind_arguments={"mapper": Item.__mapper__}).execute(
                ItemHistory.__table__.insert(), {"item_name": obj.name}
            )


def session():
    return db_session


def engine_of(name=None):
    return audit_engine if name == "audit" else engine


def names():
    return sorted(db_session.scalars(select(Item.name)))


def audit_count():
    return db_session.scalar(select(func.count()).select_from(AuditEntry))


def create_app(config_name=None):
    app = Flask(__name__)

    @app.teardown_appcontext
    def shutdown_session(exception=None):
        db_session.remove()

    @app.get("/items")
    def list_items():
        return jsonify(names())

    @app.post("/items")
    def add_item():
        db_session.add(Item(name=request.json["name"]))
        try:
            db_session.commit()
        except IntegrityError:
            db_session.rollback()
            return jsonify(error="duplicate"), 409
        return jsonify(names()), 201

    @app.post("/items/forgetful")
    def add_item_without_commit():
        """The bug a test must catch: the row is never committed."""
        db_session.add(Item(name=request.json["name"]))
        return jsonify(names()), 201

    @app.post("/items/begin")
    def add_item_in_begin_block():
        with db_session.begin():
            db_session.add(Item(name=request.json["name"]))
        return jsonify(names()), 201

    @app.post("/items/nested")
    def add_items_nested():
        db_session.add(Item(name=request.json["keep"]))
        savepoint = db_session.begin_nested()
        db_session.add(Item(name=request.json["drop"]))
        db_session.flush()
        savepoint.rollback()
        db_session.commit()
        return jsonify(names())

    @app.post("/items/named")
    def add_item_in_named_session():
        """A session of its own from the factory, as a job or a script would make one."""
        with SessionFactory() as other:
            other.add(Item(name=request.json["name"]))
            other.commit()
        return jsonify(names()), 201

    @app.post("/items/raw")
    def add_item_raw():
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO item (name) VALUES (:name)"), request.json)
        with engine.connect() as connection:
            connection.execute(text("INSERT INTO item (name) VALUES (:name)"),
                               {"name": request.json["name"] + "-2"})
            connection.commit()
        raw = engine.raw_connection()
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
                db_session.add(Item(name=name))
                db_session.add(AuditEntry(message=f"added {name}"))
                db_session.commit()

        worker = threading.Thread(target=job)
        worker.start()
        worker.join()
        return jsonify(names())

    @app.post("/audit")
    def audit():
        db_session.add(AuditEntry(message=request.json["message"]))
        db_session.commit()
        return jsonify(count=audit_count())

    @app.cli.command("add-item")
    def add_item_command():
        db_session.add(Item(name="from-cli"))
        db_session.commit()

    return app
