"""Which database a test run uses: never the configured one unless it is a test database.

A URL the app's own configuration names (``SQLALCHEMY_DATABASE_URI``, a bind)
is turned into ``test_<name>`` on the same server when its name lacks
``test``; a URL given to the plugin explicitly keeps its name and the safety
rule. Under pytest-xdist every worker gets a database of its own,
``<name>_gw<N>``, so workers never see each other's rows, cloned from
``<name>_template``, which the controller builds once.
"""

from __future__ import annotations

import os
from pathlib import PurePath

from sqlalchemy.engine import URL, make_url

from .urls import is_test_database

#: the role of the pytest-xdist controller, which builds the schema the workers clone
TEMPLATE = "template"


def xdist_worker() -> str | None:
    """``gw0``, ``gw1``... inside a pytest-xdist worker, else None."""
    return os.environ.get("PYTEST_XDIST_WORKER") or None


def is_in_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def test_database_url(url: str | URL, explicit: bool, worker: str | None = None) -> URL:
    """The URL this run (this worker, or the template) uses in place of ``url``."""
    parsed = make_url(url)
    if is_in_memory(parsed):
        return parsed  # private to the process already
    name = parsed.database or ""
    if parsed.get_backend_name() == "sqlite":
        if worker:
            path = PurePath(name)
            name = str(path.with_name(f"{path.stem}_{worker}{path.suffix}"))
        return parsed.set(database=name)
    if not explicit and not is_test_database(parsed):
        name = f"test_{name}"
    if worker:
        name = f"{name}_{worker}"
    return parsed.set(database=name)


def template_url(url: URL, worker: str) -> URL:
    """The template a worker's database ``url`` (``<name>_<worker>``) is cloned from."""
    name = url.database or ""
    if url.get_backend_name() == "sqlite":
        path = PurePath(name)
        stem = path.stem.removesuffix(f"_{worker}")
        return url.set(database=str(path.with_name(f"{stem}_{TEMPLATE}{path.suffix}")))
    return url.set(database=f"{name.removesuffix(f'_{worker}')}_{TEMPLATE}")
