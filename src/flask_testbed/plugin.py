"""The pytest plugin: options, the marker, and the hooks that place each test.

Registered through the ``pytest11`` entry point, so installing the package is
all a user does. Fixtures live in :mod:`flask_testbed.fixtures`, the database
lifecycle in :mod:`flask_testbed.harness`.
"""

from __future__ import annotations

import pytest

from . import fixtures
from .config import add_options, check_strategy, read_settings
from .database.writes import WriteTracker
from .errors import TestbedError
from .guards.scopes import judge, needs_watching
from .harness import Harness

SETTINGS = pytest.StashKey["object"]()
HARNESS = pytest.StashKey["Harness"]()
#: the strategy of a test, module or class that uses the database; absent otherwise
STRATEGY = pytest.StashKey[str]()
#: whether a test continues its module's client_module flow
SHARED = pytest.StashKey[bool]()
#: the test being set up, run or torn down
CURRENT = pytest.StashKey["pytest.Item | None"]()

MARKER = "testbed"
DATABASE_FIXTURES = frozenset(
    {
        "app", "test_app", "db", "db_session", "session", "client", "test_client",
        "client_module", "test_client_module", "clean_database", "runner", "_testbed",
        "assert_num_queries", "assert_max_queries",
    }
)
MODULE_CLIENTS = frozenset({"client_module", "test_client_module"})


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(strategy=None): give this test (class, module) database access and "
        "isolation; strategy is transaction, truncate or recreate",
    )
    try:
        config.stash[SETTINGS] = read_settings(config)
    except TestbedError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.pluginmanager.register(fixtures, "flask_testbed.fixtures")


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Load and check the configured app before collection: bad input stops the run here."""
    settings = session.config.stash[SETTINGS]
    if not settings.app:
        return
    from .app import load_app

    try:
        app = load_app(
            settings.app,
            settings.app_config,
            settings.database_url,
            settings.allow_any_database,
            session.config.rootpath,
        )
        harness = Harness(app, settings)
        harness.check()
    except TestbedError as exc:
        raise pytest.UsageError(str(exc)) from None
    session.config.stash[HARNESS] = harness
    # The app is loaded: a query while test modules import is now caught.
    harness.blocker.refuse("collection")


def pytest_collection_finish(session: pytest.Session) -> None:
    harness = session.config.stash.get(HARNESS, None)
    if harness is not None:
        harness.blocker.refuse(None)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.config.stash[CURRENT] = item
    harness = item.config.stash.get(HARNESS, None)
    if harness is not None:
        harness.blocker.refuse(None if STRATEGY in item.stash else item.nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    # Teardowns may close what higher-scoped fixtures opened: never refused.
    harness = item.config.stash.get(HARNESS, None)
    if harness is not None:
        harness.blocker.refuse(None)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest):
    """Watch the user's data fixtures whose scope cannot keep what they write."""
    config = request.config
    harness = config.stash.get(HARNESS, None)
    item = config.stash.get(CURRENT, None)
    if (
        harness is None
        or not harness.started
        or item is None
        or STRATEGY not in item.stash
        or fixturedef.argname in DATABASE_FIXTURES
        or fixturedef.argname.startswith("_testbed")
    ):
        return (yield)
    strategy = item.stash[STRATEGY]
    if not needs_watching(fixturedef.scope, strategy, item.stash[SHARED]):
        return (yield)
    tracker = WriteTracker(harness.engines)
    tracker.start()
    try:
        result = yield
    finally:
        tracker.stop()
    judge(fixturedef, tracker, strategy, item.nodeid)
    return result


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Mark the tests, classes and modules that touch the database, with their strategy."""
    default = config.stash[SETTINGS].strategy
    by_parent: dict[pytest.Node, set[str]] = {}
    for item in items:
        marker = item.get_closest_marker(MARKER)
        names = getattr(item, "fixturenames", ())
        if marker is None and DATABASE_FIXTURES.isdisjoint(names):
            continue
        strategy = _strategy_of(marker, item, default)
        item.stash[STRATEGY] = strategy
        item.stash[SHARED] = not MODULE_CLIENTS.isdisjoint(names)
        for parent_type in (pytest.Module, pytest.Class):
            parent = item.getparent(parent_type)
            if parent is not None:
                by_parent.setdefault(parent, set()).add(strategy)
    for parent, strategies in by_parent.items():
        # A module whose tests all agree uses their strategy; a mixed one, its own.
        if len(strategies) == 1:
            parent.stash[STRATEGY] = next(iter(strategies))
        else:
            marker = parent.get_closest_marker(MARKER)
            parent.stash[STRATEGY] = _strategy_of(marker, parent, default)


def _strategy_of(marker: pytest.Mark | None, node: pytest.Node, default: str) -> str:
    if marker is None:
        return default
    strategy = marker.kwargs.get("strategy") or (marker.args[0] if marker.args else None)
    if strategy is None:
        return default
    try:
        check_strategy(strategy, where=f"@pytest.mark.{MARKER} on {node.nodeid}")
    except TestbedError as exc:
        raise pytest.UsageError(str(exc)) from None
    return strategy
