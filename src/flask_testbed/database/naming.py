"""Which database a test run uses: never the configured one unless it is a test database.

A URL the app's own configuration names (``SQLALCHEMY_DATABASE_URI``, a bind)
is turned into ``test_<name>`` on the same server when its name is not a test
name; an SQLite file becomes ``test_<file>`` beside it. A URL given to the
plugin explicitly keeps its name and the safety rule. Under pytest-xdist every
worker gets a database of its own, ``<name>_gw<N>``, so workers never see each
other's rows, cloned from ``<name>_template``, which the controller builds
once. A run that finds its database in use by another run (and is not asked to
reuse it) takes the next free slot, ``<name>_2``, ``<name>_3``...
"""

from __future__ import annotations

import os
from pathlib import PurePath

from sqlalchemy.engine import URL, make_url

from .urls import database_name, is_in_memory, is_test_name, sqlite_path

__all__ = ["TEMPLATE", "is_in_memory", "template_url", "test_database_url", "xdist_worker"]

#: the role of the pytest-xdist controller, which builds the schema the workers clone
TEMPLATE = "template"


def xdist_worker() -> str | None:
    """``gw0``, ``gw1``... inside a pytest-xdist worker, else None."""
    return os.environ.get("PYTEST_XDIST_WORKER") or None


def test_database_url(
    url: str | URL, explicit: bool, worker: str | None = None, slot: int = 1
) -> URL:
    """The URL this run (this worker, or the template) uses in place of ``url``.

    ``slot`` 1 is the database's own name; a run that finds it taken by
    another run uses slot 2, 3... (``<name>_2``).
    """
    parsed = make_url(url)
    if is_in_memory(parsed):
        return parsed  # private to the process already
    name = database_name(parsed)
    if not explicit and not is_test_name(name):
        name = f"test_{name}"
    suffixes = [str(slot)] if slot > 1 else []
    if worker:
        suffixes.append(worker)
    return _renamed(parsed, name, suffixes)


def template_url(url: URL, worker: str) -> URL:
    """The template a worker's database ``url`` (``<name>_<worker>``) is cloned from."""
    name = database_name(url)
    stem, suffix = _split(url, name)
    return _renamed(url, f"{stem.removesuffix(f'_{worker}')}{suffix}", [TEMPLATE])


def _split(url: URL, name: str) -> tuple[str, str]:
    """``(stem, suffix)``: an SQLite file keeps its extension at the end."""
    if url.get_backend_name() == "sqlite":
        path = PurePath(name)
        return path.stem, path.suffix
    return name, ""


def _renamed(url: URL, name: str, suffixes: list[str]) -> URL:
    stem, suffix = _split(url, name)
    name = "_".join([stem, *suffixes]) + suffix
    if url.get_backend_name() == "sqlite":
        # Beside the original file: a relative path stays relative (to the
        # app's instance folder, as Flask-SQLAlchemy resolves it).
        prefix, path = sqlite_path(url)
        return url.set(database=prefix + str(PurePath(path).with_name(name)))
    return url.set(database=name)
