"""A small app the inner pytest sessions test: every way an app reaches its database."""

import os
import threading
import time

from flask import Flask, g, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

db = SQLAlchemy()

#: "mails" sent once a commit succeeded, as an after_commit listener would
outbox = []

#: what the jobs of /items/later raised, in their own thread
job_errors = []


class Item(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(50), unique=True, nullable=False)


class Tag(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    item_id = db.Column(db.ForeignKey("item.id"), nullable=False)
    label = db.Column(db.String(50), nullable=False)


class ItemHistory(db.Model):
    """Written by a versioning listener in the same flush, as SQLAlchemy-Continuum does."""

    id = db.Column(db.Integer, primary_key=True)
    item_name = db.Column(db.String(50), nullable=False)


class AuditEntry(db.Model):
    __bind_key__ = "audit"
    id = db.Column(db.Integer, primary_key=True)
    message = db.Column(db.String(100), nullable=False)


@event.listens_for(db.session, "after_commit")
def send_pending_mail(session):
    outbox.extend(session.info.pop("mail", []))


@event.listens_for(db.session, "after_flush")
def record_history(session, flush_context):
    for obj in session.new:
        if isinstance(obj, Item):
            session.connection().execute(ItemHistory.__table__.insert(), {"item_name": obj.name})


def names():
    return sorted(item.name for item in Item.query.all())


def create_app(config_name=None):
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("SHOP_DATABASE_URL", "sqlite://")
    app.config["SQLALCHEMY_BINDS"] = {"audit": os.environ["SHOP_AUDIT_URL"]}
    if config_name == "explode":
        raise RuntimeError("the factory exploded")
    app.config["SQLALCHEMY_TRACK_MODIFICATIONS"] = config_name == "track"
    db.init_app(app)

    @app.get("/items")
    def list_items():
        return jsonify(names())

    @app.post("/items")
    def add_item():
        db.session.add(Item(name=request.json["name"]))
        db.session.info.setdefault("mail", []).append(f"new item {request.json['name']}")
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

    @app.post("/items/forgetful-sql")
    def add_item_with_sql_without_commit():
        db.session.execute(text("INSERT INTO item (name) VALUES (:name)"), request.json)
        return jsonify(names()), 201

    @app.post("/items/begin")
    def add_item_in_begin_block():
        """SQLAlchemy 2.0 style: the block commits."""
        with db.session.begin():
            db.session.add(Item(name=request.json["name"]))
        return jsonify(names()), 201

    @app.post("/items/<int:item_id>/rename")
    def rename_item(item_id):
        db.session.get(Item, item_id).name = request.json["name"]
        db.session.commit()
        return jsonify(names())

    @app.get("/g")
    def request_globals():
        seen = sorted(g.__dict__)
        g.visited = True
        return jsonify(seen)

    @app.post("/items/nested")
    def add_items_nested():
        """Keeps the first name, tries the second in a savepoint that it rolls back."""
        db.session.add(Item(name=request.json["keep"]))
        savepoint = db.session.begin_nested()
        db.session.add(Item(name=request.json["drop"]))
        db.session.flush()
        savepoint.rollback()
        db.session.commit()
        return jsonify(names())

    @app.post("/items/raw")
    def add_item_raw():
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO item (name) VALUES (:name)"), request.json)
        with db.engine.connect() as connection:
            connection.execute(text("INSERT INTO item (name) VALUES (:name)"),
                               {"name": request.json["name"] + "-2"})
            connection.commit()
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

    @app.post("/items/later")
    def add_item_later():
        """Answers at once; a job commits the item a moment later (never joined)."""
        name = request.json["name"]
        delay = request.json.get("delay", 0.3)

        def job():
            time.sleep(delay)
            try:
                with app.app_context():
                    db.session.add(Item(name=name))
                    db.session.commit()
            except Exception as exc:
                job_errors.append(str(exc))

        threading.Thread(target=job, daemon=True).start()
        return jsonify(queued=name), 202

    @app.post("/items/slow")
    def add_item_slowly():
        """Takes ``delay`` seconds before it writes: a request that may outlive its test."""
        time.sleep(request.json.get("delay", 0.3))
        db.session.add(Item(name=request.json["name"]))
        db.session.commit()
        return jsonify(names()), 201

    @app.post("/audit")
    def audit():
        db.session.add(AuditEntry(message=request.json["message"]))
        db.session.commit()
        return jsonify(count=db.session.query(AuditEntry).count())

    @app.get("/config/<key>")
    def config_value(key):
        return jsonify(value=app.config.get(key))

    @app.get("/cookies")
    def cookies():
        return jsonify(dict(request.cookies))

    @app.cli.command("add-item")
    def add_item_command():
        db.session.add(Item(name="from-cli"))
        db.session.commit()

    @app.cli.command("add-item-forgetful")
    def add_item_without_commit_command():
        db.session.add(Item(name="from-cli"))

    return app
