"""Where an app's configuration keeps its database URLs, per extension.

The run's test databases are claimed from these URLs and written back in
their place before the extension makes its engines (:mod:`..claims`). The
default database is the key None whatever the extension calls it, so that
claims, messages and fingerprints read the same for every integration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import URL


class Layout:
    """The config keys of one extension: read the URLs, write the test URLs back."""

    #: the config key named in messages
    key = ""
    #: both extensions resolve a relative SQLite path in the app's instance
    #: folder (and make the folder); an engine of the app's own, from the
    #: working directory, as SQLite does
    relative_to_instance = True

    def urls(self, config: Mapping[str, Any]) -> dict[str | None, Any]:
        """Each configured engine's URL (text or URL), the default one as None."""
        raise NotImplementedError

    def write(self, config: Any, plan: Mapping[str | None, URL]) -> None:
        raise NotImplementedError


def _url_of(value: Any) -> Any:
    return value.get("url") if isinstance(value, dict) else value


def _with_url(value: Any, text: str) -> Any:
    return {**value, "url": text} if isinstance(value, dict) else text


class FlaskSQLAlchemyLayout(Layout):
    """``SQLALCHEMY_DATABASE_URI`` and ``SQLALCHEMY_BINDS``."""

    key = "SQLALCHEMY_DATABASE_URI"

    def urls(self, config: Mapping[str, Any]) -> dict[str | None, Any]:
        urls: dict[str | None, Any] = {}
        if config.get("SQLALCHEMY_DATABASE_URI") is not None:
            urls[None] = config["SQLALCHEMY_DATABASE_URI"]
        for key, value in (config.get("SQLALCHEMY_BINDS") or {}).items():
            if _url_of(value) is not None:
                urls[key] = _url_of(value)
        return urls

    def write(self, config: Any, plan: Mapping[str | None, URL]) -> None:
        for key, url in plan.items():
            text = url.render_as_string(hide_password=False)
            if key is None:
                config["SQLALCHEMY_DATABASE_URI"] = text
            else:
                binds = config["SQLALCHEMY_BINDS"]
                binds[key] = _with_url(binds[key], text)


#: Flask-SQLAlchemy-Lite's name for the engine its session binds by default
LITE_DEFAULT = "default"


class LiteLayout(Layout):
    """Flask-SQLAlchemy-Lite's ``SQLALCHEMY_ENGINES``: name -> URL, or options with a "url"."""

    key = "SQLALCHEMY_ENGINES"

    def urls(self, config: Mapping[str, Any]) -> dict[str | None, Any]:
        return {
            lite_key(name): _url_of(value)
            for name, value in (config.get("SQLALCHEMY_ENGINES") or {}).items()
            if _url_of(value) is not None
        }

    def write(self, config: Any, plan: Mapping[str | None, URL]) -> None:
        engines = config.setdefault("SQLALCHEMY_ENGINES", {})
        for key, url in plan.items():
            name = LITE_DEFAULT if key is None else key
            engines[name] = _with_url(engines.get(name), url.render_as_string(hide_password=False))


def lite_key(name: str) -> str | None:
    return None if name == LITE_DEFAULT else name


FLASK_SQLALCHEMY = FlaskSQLAlchemyLayout()
LITE = LiteLayout()


def extensions() -> list[tuple[type, Layout]]:
    """The extension classes whose ``init_app`` makes engines from the config, installed ones."""
    from flask_sqlalchemy import SQLAlchemy

    found: list[tuple[type, Layout]] = [(SQLAlchemy, FLASK_SQLALCHEMY)]
    try:
        from flask_sqlalchemy_lite import SQLAlchemy as Lite
    except ImportError:  # optional: only apps built on it need it
        return found
    found.append((Lite, LITE))
    return found
