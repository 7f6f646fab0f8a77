"""myapp: a small feature-based Flask app, the reference app of flask-testbed.

Each feature (``auth``, ``notes``) is a package with its models, its JSON
routes and its HTML pages (a blueprint each) and its own ``tests/``.
"""

import click
from flask import Flask, Response, redirect, url_for

from . import auth, notes
from .api import register_error_handlers
from .extensions import db, enforce_sqlite_foreign_keys, jwt

__all__ = ["create_app", "db"]


def create_app(config_name: str = "config.DevelopmentConfig") -> Flask:
    """Build the app with the configuration class named ``config_name``."""
    app = Flask(__name__)
    app.config.from_object(config_name)
    db.init_app(app)
    jwt.init_app(app)
    enforce_sqlite_foreign_keys(app)
    register_error_handlers(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(notes.bp)
    app.register_blueprint(auth.pages_bp)
    app.register_blueprint(notes.pages_bp)

    @app.get("/")
    def home() -> Response:
        """A browser's way in: the notes page (which sends it to sign in first)."""
        return redirect(url_for("notes_pages.index"))

    @app.cli.command("init-db")
    def init_db() -> None:
        """Create the tables that do not exist yet."""
        db.create_all()
        click.echo("database ready")

    return app
