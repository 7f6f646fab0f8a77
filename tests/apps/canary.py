"""An app whose own configuration names the user's real data: the tests must never touch it.

``CANARY_URL`` is the development database (an SQLite file, or a server
database named ``latest_prod`` / ``contest``); ``CANARY_SCHEMA`` puts a second
model in another schema (on MariaDB/MySQL: another database of the server).
"""

import os

from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class Item(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(50), nullable=False)


SCHEMA = os.environ.get("CANARY_SCHEMA")
if SCHEMA:

    class Order(db.Model):
        __table_args__ = {"schema": SCHEMA}  # noqa: RUF012 - SQLAlchemy reads it once
        id = db.Column(db.Integer, primary_key=True)
        item_name = db.Column(db.String(50), nullable=False)


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["CANARY_URL"]
    db.init_app(app)

    @app.post("/items")
    def add_item():
        db.session.add(Item(name=request.json["name"]))
        if SCHEMA:
            db.session.add(Order(item_name=request.json["name"]))
        db.session.commit()
        return jsonify(count=db.session.query(Item).count()), 201

    @app.get("/items")
    def count_items():
        orders = db.session.query(Order).count() if SCHEMA else 0
        return jsonify(items=db.session.query(Item).count(), orders=orders)

    return app
