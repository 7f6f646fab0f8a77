"""Whether a suite uses the plugin: installing it must change nothing for one that does not.

A suite written before the plugin was installed may define its own ``app``
fixture with a function or module scope. The plugin's session-scoped fixtures
cannot stand on it (pytest would stop each test with a ``ScopeMismatch``
naming the plugin's private fixtures), and such a suite never asked for the
plugin: its tests run exactly as before, and the run says once how to adopt it.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from . import fastpaths

#: pytest's attribute holding the fixtures an item resolved (no public API gives them at collection)
FIXTURE_INFO = "_fixtureinfo"
FIXTURE_MANAGER = "_fixturemanager"
ADOPT = (
    "flask-testbed: not active: the app fixture is not session-scoped and testbed_app is not "
    "set; to isolate database tests, set testbed_app = module:create_app in the pytest ini, or "
    "make the app fixture session-scoped"
)
NOT_ADOPTED = pytest.StashKey[bool]()
#: the suite has a session-scoped app fixture of its own (and no testbed_app)
OWN_APP = pytest.StashKey[bool]()


def app_fixture(item: pytest.Item) -> Any | None:
    """The definition of ``app`` that the item's fixtures would get, or None if unknown.

    pytest has no public way to ask which fixture definition a name resolves
    to before the test runs: this reads the item's resolved fixtures, or asks
    the fixture manager for a name outside the item's closure. Where either is
    missing (another pytest), None: the plugin then behaves as it always did.
    """
    if not fastpaths.enabled("pytest-fixture-definitions"):
        return None
    info = getattr(item, FIXTURE_INFO, None)
    definitions = getattr(info, "name2fixturedefs", None)
    if definitions is None:
        return None
    found = definitions.get("app")
    if not found:
        manager = getattr(item.session, FIXTURE_MANAGER, None)
        getter = getattr(manager, "getfixturedefs", None)
        if getter is None:
            return None
        try:
            # pytest 8.1 and later take the node; pytest 8.0 took its node ID.
            found = getter("app", item if takes_node(getter) else item.nodeid)
        except (TypeError, AttributeError):  # its signature changed: unknown
            return None
    return found[-1] if found else None


def fixture_lookup() -> str | None:
    """None when this pytest keeps the private names :func:`app_fixture` reads, else why not."""
    from _pytest.fixtures import FixtureManager, FuncFixtureInfo

    fields = set(getattr(FuncFixtureInfo, "__dataclass_fields__", ()))
    fields |= set(getattr(FuncFixtureInfo, "__slots__", ()))
    if "name2fixturedefs" not in fields:
        return "pytest's FuncFixtureInfo has no name2fixturedefs"
    if FIXTURE_INFO not in pytest.Function.__init__.__code__.co_names:
        return f"pytest's Function sets no {FIXTURE_INFO}"
    if not callable(getattr(FixtureManager, "getfixturedefs", None)):
        return "pytest's FixtureManager has no getfixturedefs"
    return None


def takes_node(getter: Any) -> bool:
    """Whether the fixture manager's ``getfixturedefs`` takes a node (else a node ID)."""
    try:
        parameters = list(inspect.signature(getter).parameters)
    except (TypeError, ValueError):
        return True
    return "nodeid" not in parameters


def is_plugins(definition: Any) -> bool:
    """Whether a fixture definition is one of the plugin's own."""
    module = getattr(getattr(definition, "func", None), "__module__", None)
    return module == "flask_testbed.fixtures"


#: what app_fixture finds for a test: the plugin's own (or none known), the suite's own
#: session-scoped one, or the suite's own narrower one (a suite the plugin leaves alone)
PLUGINS_APP, OWN_SESSION_APP, OWN_NARROW_APP = "plugin", "own-session", "own-narrow"


def suite_app(item: pytest.Item) -> str:
    """Which kind of ``app`` fixture the item sees, without remembering anything on the run."""
    definition = app_fixture(item)
    if definition is None or is_plugins(definition):
        return PLUGINS_APP
    return OWN_SESSION_APP if definition.scope == "session" else OWN_NARROW_APP


def uses_the_plugin(item: pytest.Item, configured: bool) -> bool:
    """Whether the plugin may isolate this test: its app is the plugin's or session-scoped.

    A test of a suite whose own ``app`` fixture is narrower is left alone, and
    the run remembers to say how to adopt the plugin.
    """
    if configured:
        return True
    kind = suite_app(item)
    if kind == OWN_SESSION_APP:
        item.config.stash[OWN_APP] = True
    elif kind == OWN_NARROW_APP:
        item.config.stash[NOT_ADOPTED] = True
    return kind != OWN_NARROW_APP


def adoption_notice(config: pytest.Config) -> str | None:
    """The one line that tells a suite the plugin left alone how to adopt it."""
    return ADOPT if config.stash.get(NOT_ADOPTED, False) else None


class OwnAppFixture:
    """Around the setup of the user's session-scoped ``app`` fixture: the test-database redirect.

    Without it, the user's factory initialises Flask-SQLAlchemy on the database
    its config names (the development one, say), and under pytest-xdist every
    worker reaches that one database at once; the plugin would only move the
    engines afterwards. Registered only for a run that has such a fixture, and
    unregistered once it ran: no other fixture setup pays for the wrapper.
    """

    NAME = "flask_testbed.own_app"

    def __init__(self, redirect: Any, stop: Any) -> None:
        #: a context manager factory: while it is entered, init_app goes to test databases
        self._redirect = redirect
        #: stops the run with a TestbedError's one line
        self._stop = stop

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest):
        if fixturedef.argname != "app" or fixturedef.scope != "session" or is_plugins(fixturedef):
            return (yield)
        request.config.pluginmanager.unregister(self, self.NAME)
        from .errors import TestbedError

        try:
            with self._redirect(request.config) as hand_over:
                app = yield
                if hand_over is not None:
                    hand_over(app)  # a plain SQLAlchemy app: the databases its engines got
                return app
        except TestbedError as exc:
            self._stop(request.config, exc)


def watch_own_app(config: pytest.Config, redirect: Any, stop: Any) -> None:
    """Redirect the user's session-scoped ``app`` fixture to test databases (once per run)."""
    if config.stash.get(OWN_APP, False) and not config.pluginmanager.has_plugin(
        OwnAppFixture.NAME
    ):
        config.pluginmanager.register(OwnAppFixture(redirect, stop), OwnAppFixture.NAME)
