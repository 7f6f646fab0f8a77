"""The pytest plugin: options, the marker, and the hooks that place each test.

Registered through the ``pytest11`` entry point, so installing the package is
all a user does. Fixtures live in :mod:`flask_testbed.fixtures`, the database
lifecycle in :mod:`flask_testbed.harness`.
"""

from __future__ import annotations

import pytest

from . import fixtures
from .config import add_options, check_strategy, read_settings
from .errors import TestbedError
from .harness import Harness

SETTINGS = pytest.StashKey["object"]()
HARNESS = pytest.StashKey["Harness"]()
#: the strategy of a test, module or class that uses the database; absent otherwise
STRATEGY = pytest.StashKey[str]()
#: whether a test continues its module's client_module flow
SHARED = pytest.StashKey[bool]()

MARKER = "testbed"
DATABASE_FIXTURES = frozenset(
    {
        "app", "test_app", "db", "db_session", "session", "client", "test_client",
        "client_module", "test_client_module", "clean_database", "runner", "_testbed",
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
