"""Settings, read from the command line, the environment and the ini file.

A command-line option beats an environment variable, which beats the ini file,
so that CI can override a project's defaults without editing it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from .errors import TestbedError

STRATEGIES = ("transaction", "truncate", "recreate")

# (ini key, option, dest, environment variable, help)
_KEYS = (
    ("testbed_app", "--testbed-app", "testbed_app", "TESTBED_APP",
     "module:attr of the Flask app, or of a factory that returns one"),
    ("testbed_app_config", "--testbed-app-config", "testbed_app_config", "TESTBED_APP_CONFIG",
     "single argument for the app factory, e.g. config.TestConfig"),
    ("testbed_strategy", "--testbed-strategy", "testbed_strategy", "TESTBED_STRATEGY",
     "isolation strategy: transaction (default), truncate or recreate; the plugin's own "
     "DDL and cleanup wait at most TESTBED_LOCK_TIMEOUT seconds (default 10) for a lock"),
    ("testbed_database_url", "--testbed-db-url", "testbed_database_url", "TESTBED_DATABASE_URL",
     "database URL the app's default engine uses in tests"),
    ("testbed_schema", "--testbed-schema", "testbed_schema", "TESTBED_SCHEMA",
     "how the schema is built: create_all (default) or migrations (to head: the app's "
     "Flask-Migrate, else the project's alembic.ini)"),
    ("testbed_alembic_ini", "--testbed-alembic-ini", "testbed_alembic_ini", "TESTBED_ALEMBIC_INI",
     "the alembic.ini that testbed_schema = migrations runs when the app has no Flask-Migrate "
     "(default: alembic.ini in the rootdir, when there is one)"),
    ("testbed_uncommitted", "--testbed-uncommitted", "testbed_uncommitted",
     "TESTBED_UNCOMMITTED",
     "a request that ends with uncommitted changes: warn (default), error or ignore"),
    ("testbed_metadata", "--testbed-metadata", "testbed_metadata", "TESTBED_METADATA",
     "module:attr of the models' MetaData, for Flask-SQLAlchemy-Lite and plain SQLAlchemy "
     "apps (name=module:attr entries for other engines, separated by spaces)"),
    ("testbed_engine", "--testbed-engine", "testbed_engine", "TESTBED_ENGINE",
     "module:attr of a plain SQLAlchemy app's engine (name=module:attr for other engines)"),
    ("testbed_session", "--testbed-session", "testbed_session", "TESTBED_SESSION",
     "module:attr of a plain SQLAlchemy app's scoped_session or sessionmaker"),
)
SCHEMAS = ("create_all", "migrations")
UNCOMMITTED = ("warn", "error", "ignore")
# (ini key, option or None, environment variable, help): true/false switches
_FLAGS = (
    ("testbed_allow_any_database", None, "TESTBED_ALLOW_ANY_DATABASE",
     "let the plugin create, empty and drop tables in a database whose name is not a test name "
     "(test, tests or testing as one of its words)"),
    ("testbed_check_leaks", "--testbed-check-leaks", "TESTBED_CHECK_LEAKS",
     "after each test, check that the database is back to its state before the test"),
    ("testbed_reset_sequences", "--testbed-reset-sequences", "TESTBED_RESET_SEQUENCES",
     "restart id sequences / AUTO_INCREMENT before each database test"),
    ("testbed_reuse_db", "--reuse-db", "TESTBED_REUSE_DB",
     "keep the test database between runs; rebuild the schema only when it changed; wait "
     "at most TESTBED_RUN_LOCK_TIMEOUT seconds (default 600) for another run using it"),
    ("testbed_create_db", "--create-db", "TESTBED_CREATE_DB",
     "rebuild the test database's schema even when --reuse-db finds it current"),
)
_TRUE = ("1", "true", "yes", "on")
_RESET_HELP = (
    "module:callable entries, separated by spaces, each called with the app after every "
    "database test to reset in-memory state"
)


@dataclass(frozen=True)
class Settings:
    app: str | None = None
    app_config: str | None = None
    strategy: str = "transaction"
    database_url: str | None = None
    allow_any_database: bool = False
    check_leaks: bool = False
    reset_sequences: bool = False
    reuse_db: bool = False
    create_db: bool = False
    schema: str = "create_all"
    uncommitted: str = "warn"
    #: module:callable entries of testbed_reset, run after each database test
    resets: tuple[str, ...] = ()
    #: [name=]module:attr entries: the models' MetaData (Flask-SQLAlchemy-Lite, plain SQLAlchemy)
    metadata: str | None = None
    #: [name=]module:attr entries: a plain SQLAlchemy app's engines
    engine: str | None = None
    #: module:attr: a plain SQLAlchemy app's scoped_session or sessionmaker
    session: str | None = None
    #: the Alembic configuration testbed_schema = migrations runs without Flask-Migrate
    alembic_ini: str | None = None


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("testbed", "flask-testbed: isolated Flask + SQLAlchemy tests")
    for ini, option, dest, env, help_text in _KEYS:
        group.addoption(option, dest=dest, default=None, help=f"{help_text} (env {env})")
        parser.addini(ini, help=f"{help_text} (option {option}, env {env})", default=None)
    for ini, option, env, help_text in _FLAGS:
        if option is not None:
            group.addoption(
                option, action="store_true", default=None, help=f"{help_text} (env {env})"
            )
        parser.addini(ini, type="bool", default=False, help=f"{help_text} (env {env})")
    group.addoption(
        "--testbed-reset", dest="testbed_reset", action="append", default=None,
        help=f"{_RESET_HELP} (env TESTBED_RESET; may be repeated)",
    )
    parser.addini(
        "testbed_reset", type="args", default=[],
        help=f"{_RESET_HELP} (option --testbed-reset, env TESTBED_RESET)",
    )
    # pytest-flask's key, same name and meaning: a suite moving over keeps its ini.
    parser.addini(
        "live_server_scope", default="session",
        help="scope of the live_server fixture (default session); every test's data is its "
        "own whatever the scope; a request still running when its test ends is waited for "
        "TESTBED_LIVE_SERVER_WAIT seconds (default 10)",
    )


def read_settings(config: pytest.Config) -> Settings:
    """Resolve every key by precedence and validate what can be validated early."""
    values = {}
    for ini, _option, dest, env, _help in _KEYS:
        value = config.getoption(dest) or os.environ.get(env) or config.getini(ini)
        values[ini] = value.strip() if isinstance(value, str) and value.strip() else None
    strategy = values["testbed_strategy"] or "transaction"
    check_strategy(strategy, where="testbed_strategy / --testbed-strategy / TESTBED_STRATEGY")
    schema = values["testbed_schema"] or "create_all"
    if schema not in SCHEMAS:
        raise TestbedError(
            f"unknown testbed_schema {schema!r}: use create_all or migrations"
        )
    uncommitted = (values["testbed_uncommitted"] or "warn").lower()
    if uncommitted not in UNCOMMITTED:
        raise TestbedError(
            f"unknown testbed_uncommitted {uncommitted!r}: use warn, error or ignore"
        )
    flags = {}
    for ini, option, env, _help in _FLAGS:
        from_option = config.getoption(option.lstrip("-").replace("-", "_")) if option else None
        from_env = os.environ.get(env)
        if from_option:
            flags[ini] = True
        elif from_env is not None and from_env.strip():
            flags[ini] = from_env.strip().lower() in _TRUE
        else:
            flags[ini] = bool(config.getini(ini))
    return Settings(
        resets=_resets(config),
        app=values["testbed_app"],
        app_config=values["testbed_app_config"],
        strategy=strategy,
        database_url=values["testbed_database_url"],
        allow_any_database=flags["testbed_allow_any_database"],
        check_leaks=flags["testbed_check_leaks"],
        reset_sequences=flags["testbed_reset_sequences"],
        reuse_db=flags["testbed_reuse_db"],
        create_db=flags["testbed_create_db"],
        schema=schema,
        uncommitted=uncommitted,
        metadata=values["testbed_metadata"],
        engine=values["testbed_engine"],
        session=values["testbed_session"],
        alembic_ini=_alembic_ini(config, values["testbed_alembic_ini"]),
    )


def check_strategy(name: str, where: str) -> None:
    if name not in STRATEGIES:
        raise TestbedError(
            f"unknown isolation strategy {name!r} in {where}: "
            f"use one of {', '.join(STRATEGIES)}"
        )


def _alembic_ini(config: pytest.Config, value: str | None) -> str | None:
    """The alembic.ini named (relative to the rootdir), else the rootdir's own, if any."""
    if value is not None:
        return str(config.rootpath / value)
    default = config.rootpath / "alembic.ini"
    return str(default) if default.is_file() else None


def _resets(config: pytest.Config) -> tuple[str, ...]:
    """testbed_reset's entries: the option's, else the environment's, else the ini file's."""
    option = config.getoption("testbed_reset")
    if option:
        return tuple(entry for value in option for entry in value.split())
    env = os.environ.get("TESTBED_RESET")
    if env is not None and env.strip():
        return tuple(env.split())
    return tuple(config.getini("testbed_reset"))
