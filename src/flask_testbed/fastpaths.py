"""Every use of another library's private API, named, detected once, and reportable.

The plugin reaches into SQLAlchemy, the drivers and pytest where their public
API is slower or silent. Each such use is a fast path here: what it speeds up
(or makes possible), what it needs, and the detector deciding whether this
run's versions still offer it. :func:`evaluate` runs every detector once, at
start-up (``pytest_configure``); each use asks :func:`enabled` and otherwise
takes its public path, which the suite runs too, forced by naming the fast path
in ``TESTBED_FASTPATHS_OFF`` (comma-separated, or ``all``).

``pytest --testbed-info`` prints the versions and which fast paths are on.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

#: names of fast paths to leave off (comma-separated), or "all": their public path is taken
OFF_VARIABLE = "TESTBED_FASTPATHS_OFF"


@dataclass(frozen=True)
class FastPath:
    name: str
    #: what it speeds up or makes possible
    gives: str
    #: the private API it needs, and where
    needs: str
    #: None when this run's libraries offer it, else why not (lazy: imports the module that uses it)
    detect: Callable[[], str | None]


def _statement_lock() -> str | None:
    from .isolation.pinning import hooks_execute_context

    return None if hooks_execute_context() else "SQLAlchemy's Connection has no _execute_context"


def _direct_savepoints() -> str | None:
    from sqlalchemy import Connection

    from .isolation.savepoints import _replaceable

    if _replaceable(Connection):
        return None
    return "SQLAlchemy's Connection has no _savepoint_impl and its siblings"


def _psycopg_pipelined() -> str | None:
    from .database.backends.postgresql import psycopg_can_pipeline

    return psycopg_can_pipeline()


def _pymysql_pipelined() -> str | None:
    from .database.backends.mysql import pymysql_can_pipeline

    return pymysql_can_pipeline()


def _pymysql_socket() -> str | None:
    from .database.backends.mysql import pymysql_keeps_socket

    return pymysql_keeps_socket()


def _url_check() -> str | None:
    from .database.secrets import parse_hook

    return None if parse_hook() is not None else "sqlalchemy.engine.url has no _parse_url"


def _savepoint_bookkeeping() -> str | None:
    from .isolation.bookkeeping import walks_savepoints

    return None if walks_savepoints() else "SQLAlchemy's NestedTransaction has no _previous_nested"


def _bind_cache() -> str | None:
    from .integrations.flask_sqlalchemy import keeps_its_extension

    return None if keeps_its_extension() else "Flask-SQLAlchemy's Session keeps no _db"


def _engine_rebuild() -> str | None:
    from .integrations.flask_sqlalchemy import rebuilds_engines

    return rebuilds_engines()


def _fixture_definitions() -> str | None:
    from .adoption import fixture_lookup

    return fixture_lookup()


def _lite_state() -> str | None:
    from .integrations.lite import keeps_private_state

    return keeps_private_state()


REGISTRY: tuple[FastPath, ...] = (
    FastPath(
        "statement-lock",
        "one lock around each statement on the pinned connection, inside SQLAlchemy "
        "(else around Connection.execute, exec_driver_sql and scalar)",
        "SQLAlchemy 2.0/2.1 Connection._execute_context",
        _statement_lock,
    ),
    FastPath(
        "direct-savepoints",
        "SAVEPOINT / RELEASE / ROLLBACK TO of each request sent to the driver uncompiled "
        "(a rolled-back savepoint released with it where the backend needs it)",
        "SQLAlchemy 2.0/2.1 Connection._savepoint_impl, _rollback_to_savepoint_impl, "
        "_release_savepoint_impl",
        _direct_savepoints,
    ),
    FastPath(
        "psycopg-pipelined-rollback",
        "the rollback ending a test or a request, and a request's SAVEPOINT, sent without "
        "waiting for their reply (PostgreSQL)",
        "psycopg 3.1+ Connection.pgconn, Connection.wait, psycopg.generators",
        _psycopg_pipelined,
    ),
    FastPath(
        "sqlalchemy-savepoint-bookkeeping",
        "the savepoints the app's sessions left open inside a test ended in SQLAlchemy's "
        "books only, after the test's rollback took them on the server (else each is "
        "rolled back with a statement of its own first)",
        "SQLAlchemy 2.0/2.1 NestedTransaction._previous_nested",
        _savepoint_bookkeeping,
    ),
    FastPath(
        "pymysql-pipelined-rollback",
        "the rollback ending a test or a request, and a request's SAVEPOINT, sent without "
        "waiting for their reply (MariaDB/MySQL)",
        "PyMySQL 1.1+ Connection._execute_command, _read_query_result",
        _pymysql_pipelined,
    ),
    FastPath(
        "pymysql-fork-socket",
        "a forked child's copy of the pinned MariaDB/MySQL socket closed, not just refused",
        "PyMySQL 1.1+ Connection._sock",
        _pymysql_socket,
    ),
    FastPath(
        "sqlalchemy-url-check",
        "a URL with an unescaped '@' the app passes to create_engine stopped before it connects",
        "SQLAlchemy 2.0/2.1 sqlalchemy.engine.url._parse_url",
        _url_check,
    ),
    FastPath(
        "flask-sqlalchemy-bind-cache",
        "Flask-SQLAlchemy's get_bind answered once per app, model and table, not on each call",
        "Flask-SQLAlchemy 3.1 Session._db",
        _bind_cache,
    ),
    FastPath(
        "flask-sqlalchemy-engine-rebuild",
        "an app whose engines exist before the run (a conftest imported it) moved to the "
        "test databases engine by engine (else the extension's init_app runs again)",
        "Flask-SQLAlchemy 3.1 SQLAlchemy._app_engines, _engine_options, _make_metadata, "
        "_apply_driver_defaults, _make_engine, record_queries._listen",
        _engine_rebuild,
    ),
    FastPath(
        "pytest-fixture-definitions",
        "a suite's own narrower app fixture left alone; wider fixtures set up before "
        "their savepoint",
        "pytest 8.0+ Item._fixtureinfo, Session._fixturemanager.getfixturedefs",
        _fixture_definitions,
    ),
    FastPath(
        "flask-sqlalchemy-lite-state",
        "a Lite app's engines and sessionmaker read without an app context, its engines made "
        "again in place (an app built before the plugin saw it), its sessions kept and closed "
        "by the extension itself (else init_app again, and a get_session of the plugin's own)",
        "Flask-SQLAlchemy-Lite 0.2 SQLAlchemy._app_state, _engine_options, _State, "
        "_make._make_engines, _extension._close_sessions, g._sqlalchemy_sessions",
        _lite_state,
    ),
)

NAMES = frozenset(path.name for path in REGISTRY)

#: name -> None (on) or the reason it is off; filled by evaluate()
_state: dict[str, str | None] | None = None


def forced_off() -> frozenset[str]:
    """The fast paths ``TESTBED_FASTPATHS_OFF`` turns off."""
    value = os.environ.get(OFF_VARIABLE, "")
    names = {part.strip() for part in value.split(",") if part.strip()}
    return NAMES if "all" in names else frozenset(names)


def evaluate() -> dict[str, str | None]:
    """Run every detector (again): name -> None when on, else the reason it is off."""
    global _state
    off = forced_off()
    state: dict[str, str | None] = {}
    for path in REGISTRY:
        if path.name in off:
            state[path.name] = f"turned off by {OFF_VARIABLE}"
            continue
        try:
            state[path.name] = path.detect()
        except ImportError as exc:
            state[path.name] = f"{exc.name or exc} is not installed"
        except Exception as exc:  # a detector must never stop the run
            state[path.name] = f"detection failed: {type(exc).__name__}: {exc}"
    _state = state
    return state


def current() -> dict[str, str | None] | None:
    """The state :func:`evaluate` last found, or None before it ran."""
    return _state


def restore(previous: dict[str, str | None] | None) -> None:
    """Put back a state :func:`current` returned (after an inner run)."""
    global _state
    _state = previous


def state() -> dict[str, str | None]:
    return _state if _state is not None else evaluate()


def enabled(name: str) -> bool:
    """Whether the fast path ``name`` is on (detected at start-up, not forced off)."""
    assert name in NAMES, name
    return state()[name] is None


#: distributions reported by --testbed-info, in this order
DISTRIBUTIONS = (
    "flask-testbed",
    "Flask",
    "Werkzeug",
    "Flask-SQLAlchemy",
    "Flask-SQLAlchemy-Lite",
    "SQLAlchemy",
    "pytest",
    "psycopg",
    "PyMySQL",
    "pytest-xdist",
    "factory_boy",
)


def version_of(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def info_lines() -> list[str]:
    """What ``--testbed-info`` prints: the versions, then each fast path on or off and why."""
    lines = [f"Python {platform.python_version()} ({platform.python_implementation()})"]
    lines += [f"{name} {version_of(name)}" for name in DISTRIBUTIONS]
    lines.append("fast paths:")
    current = state()
    for path in REGISTRY:
        reason = current[path.name]
        status = "on" if reason is None else f"off ({reason})"
        lines.append(f"  {path.name}: {status}")
        lines.append(f"      {path.gives}; needs {path.needs}")
    return lines


def header_line() -> str:
    """One line for pytest's header (``-v``): which fast paths are on."""
    current = state()
    on = [name for name, reason in current.items() if reason is None]
    off = [name for name, reason in current.items() if reason is not None]
    text = f"flask-testbed {version_of('flask-testbed')}: fast paths on: {', '.join(on) or 'none'}"
    if off:
        text += f"; off: {', '.join(off)} (pytest --testbed-info says why)"
    return text
