"""The pytest plugin: options, markers, and the hooks that place each test.

Registered through the ``pytest11`` entry point, so installing the package is
all a user does. Fixtures live in :mod:`flask_testbed.fixtures`, the database
lifecycle in :mod:`flask_testbed.harness`, test levels in :mod:`flask_testbed.levels`.
"""

from __future__ import annotations

import pytest

from . import fastpaths, fixtures, hookspecs, levels, live_server, parallel, wider
from .adoption import adoption_notice, uses_the_plugin, watch_own_app
from .config import add_options, check_strategy, read_settings
from .database.writes import WriteTracker
from .errors import TestbedError, reported
from .flows import keep_written_order
from .guards.scopes import judge, needs_watching
from .harness import Harness
from .resets import Resets, load_callables
from .scopes import TestPlan
from .stash import (
    CURRENT,
    HARNESS,
    OPEN_SCOPES,
    PLAN,
    RESETS,
    RUN_ERROR,
    SETTINGS,
    STRATEGY,
)

MARKER = "testbed"
DATABASE_FIXTURES = frozenset(
    {
        "app", "test_app", "db", "db_session", "session", "client", "test_client",
        "client_module", "test_client_module", "clean_database", "runner", "_testbed",
        "assert_num_queries", "assert_max_queries", "live_server",
    }
)
MODULE_CLIENTS = frozenset({"client_module", "test_client_module"})
MARKER_ARGUMENTS = ("strategy", "reset_sequences", "config")
WATCH = "flask_testbed.watch"
WIDER_WATCH = "flask_testbed.wider"
_WATCHED = ("session", "package", "module", "class", "function")
FASTPATHS_BEFORE = pytest.StashKey["dict[str, str | None] | None"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)
    levels.add_ini(parser)
    parser.getgroup("testbed").addoption(
        "--testbed-info", action="store_true", default=False,
        help="print the versions flask-testbed runs with and which of its fast paths are on "
        "(env TESTBED_FASTPATHS_OFF=name,... or all turns fast paths off)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    if config.option.testbed_info:
        fastpaths.evaluate()  # after the conftest files: a path they turn off is off
        print("\n".join(fastpaths.info_lines()))
        return 0
    return None


def pytest_report_header(config: pytest.Config) -> str | None:
    return fastpaths.header_line() if config.option.verbose > 0 else None


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config: pytest.Config) -> None:
    # Once per run, before anything uses one; an inner run (pytester) gives the outer one's back.
    config.stash[FASTPATHS_BEFORE] = fastpaths.current()
    fastpaths.evaluate()
    config.addinivalue_line(
        "markers",
        f"{MARKER}(strategy=None, reset_sequences=False, config=None): give this test "
        "(class, module) database access and isolation; strategy is transaction, truncate or "
        "recreate; reset_sequences=True makes ids start after the highest existing id; "
        "config={...} sets app.config values for these tests only",
    )
    levels.register_markers(config)
    try:
        config.stash[SETTINGS] = read_settings(config)
    except TestbedError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[OPEN_SCOPES] = []
    config.pluginmanager.register(fixtures, "flask_testbed.fixtures")
    if config.stash[SETTINGS].app or not config.pluginmanager.has_plugin("flask"):
        # Registered after every installed plugin: with pytest-flask too, this
        # live_server is the one tests get. An unconfigured suite that runs on
        # pytest-flask keeps pytest-flask's, as it keeps everything else.
        config.pluginmanager.register(live_server, "flask_testbed.live_server")
    # Its hooks run on an xdist controller only (xdist decides that after us).
    config.pluginmanager.register(parallel.Controller(load_harness), "flask_testbed.xdist")
    if levels.enabled(config):
        config.pluginmanager.register(levels.LevelSummary(), levels.PLUGIN_NAME)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Load and check the configured app before collection: bad input stops the run here."""
    config = session.config
    try:
        callables = load_callables(config.stash[SETTINGS].resets, config.rootpath)
    except TestbedError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[RESETS] = Resets(config, callables)
    harness = load_harness(config)
    if harness is not None:
        # The app is loaded: a query while test modules import is now caught.
        harness.blocker.refuse("collection")


def load_harness(config: pytest.Config) -> Harness | None:
    """The configured app's harness, loaded and checked once per process (None: no app)."""
    if HARNESS in config.stash:
        return config.stash[HARNESS]
    settings = config.stash[SETTINGS]
    if not settings.app:
        return None
    from .app import load_app
    from .claims import release_claim

    request = parallel.claim_request(config)
    app = None
    try:
        app = load_app(
            settings.app,
            settings.app_config,
            config.rootpath,
            request,
            engines=bool(settings.engine),
        )
        harness = Harness(
            app, settings, request, templates=parallel.templates_ready(config)
        )
        harness.check()
    except TestbedError as exc:
        if app is not None:
            release_claim(app)  # a run that does not start holds no database
        raise pytest.UsageError(str(exc)) from None
    config.stash[HARNESS] = harness
    return harness


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session):
    """An error of the run itself ends it like bad input: one ``ERROR:`` line, exit status 4.

    Its database could not be built before the first test (the fixture stopped
    the run with pytest.exit), or not dropped after the last: either way the
    line is the run's, printed after the summary of what ran, not a test's error.
    """
    try:
        result = yield
    except pytest.exit.Exception:
        if RUN_ERROR not in session.config.stash:
            raise
        result = None
    error = session.config.stash.get(RUN_ERROR, None)
    if error is not None:
        raise pytest.UsageError(error)
    return result


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """A run whose app was loaded but never started (no test used it) holds its claim: let go."""
    harness = config.stash.get(HARNESS, None)
    if harness is not None:
        harness.release()
    fastpaths.restore(config.stash.get(FASTPATHS_BEFORE, None))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    notice = adoption_notice(terminalreporter.config)
    if notice is not None:
        terminalreporter.write_line(notice)


def pytest_collection_finish(session: pytest.Session) -> None:
    harness = session.config.stash.get(HARNESS, None)
    if harness is not None:
        harness.blocker.refuse(None)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.config.stash[CURRENT] = item
    harness = item.config.stash.get(HARNESS, None)
    if harness is not None:
        # Before any fixture of this test can reach the connection around SQLAlchemy.
        with reported():
            harness.settle()
        harness.blocker.refuse(None if PLAN in item.stash else item.nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    # Teardowns may close what higher-scoped fixtures opened: never refused.
    harness = item.config.stash.get(HARNESS, None)
    if harness is not None:
        harness.blocker.refuse(None)


class FixtureWatch:
    """Watches the user's data fixtures whose scope cannot keep what they write.

    Registered only when a collected test has such a scope to fear: otherwise
    the wrapper would still run around every fixture of every test.
    """

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest):
        config = request.config
        harness = config.stash.get(HARNESS, None)
        item = config.stash.get(CURRENT, None)
        if (
            harness is None
            or not harness.started
            or item is None
            or PLAN not in item.stash
            or fixturedef.argname in DATABASE_FIXTURES
            or fixturedef.argname.startswith("_testbed")
        ):
            return (yield)
        plan = item.stash[PLAN]
        strategy = plan.strategy
        if not needs_watching(fixturedef.scope, strategy, plan.shared):
            return (yield)
        tracker = WriteTracker(harness.engines)
        tracker.start()
        try:
            result = yield
        finally:
            tracker.stop()
        judge(fixturedef, tracker, strategy, item.nodeid)
        return result


class WiderWatch:
    """Notes the wider fixtures that set up inside a narrower scope's savepoint.

    One that ran statements is torn down before that savepoint rolls back
    (see :mod:`flask_testbed.wider`). Registered only when a test needs a
    fixture wider than its module: it runs around every fixture's setup.
    """

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest):
        config = request.config
        scopes = config.stash[OPEN_SCOPES]
        if not scopes or wider.RANK.get(fixturedef.scope, 4) >= scopes[-1].rank:
            return (yield)
        harness = config.stash.get(HARNESS, None)
        if harness is None or fixturedef.argname in DATABASE_FIXTURES:
            return (yield)
        before = harness.statements_run()
        try:
            return (yield)
        finally:
            # Reads count too: rows it looked up may be gone with the savepoint.
            if harness.statements_run() != before:
                scopes[-1].inside.append((fixturedef, request))


def _watch_fixtures(config: pytest.Config, plans: list[TestPlan]) -> None:
    if config.pluginmanager.has_plugin(WATCH):
        return
    kinds = {(plan.strategy, plan.shared) for plan in plans}
    if any(needs_watching(scope, *kind) for kind in kinds for scope in _WATCHED):
        config.pluginmanager.register(FixtureWatch(), WATCH)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Give each test its level, then plan the tests, classes and modules that touch the database.

    Levels here, not in an earlier hook: after every ``conftest.py``'s own
    marking and before pytest's ``-m`` (see :func:`flask_testbed.levels.mark`).
    """
    default = config.stash[SETTINGS].strategy
    configured = bool(config.stash[SETTINGS].app)
    levels.mark(config, items, configured, MARKER)
    strategies: dict[pytest.Node, set[str]] = {}
    plans: list[TestPlan] = []
    flows = []
    wider_needed = False
    for item in items:
        marker = item.get_closest_marker(MARKER)
        names = getattr(item, "fixturenames", ())
        if (marker is None and DATABASE_FIXTURES.isdisjoint(names)) or not uses_the_plugin(
            item, configured
        ):
            _drop_idle_fixtures(item, database=False)
            continue
        plan = _plan(marker, item, default, shared=not MODULE_CLIENTS.isdisjoint(names))
        item.stash[PLAN] = plan
        plans.append(plan)
        if plan.shared:
            flows.append(item)
        _drop_idle_fixtures(item, database=True)
        wider_needed = wider_needed or wider.has_wider(item, DATABASE_FIXTURES)
        for parent_type in (pytest.Module, pytest.Class):
            parent = item.getparent(parent_type)
            if parent is not None:
                strategies.setdefault(parent, set()).add(plan.strategy)
    for parent, found in strategies.items():
        # A module whose tests all agree uses their strategy; a mixed one, its own.
        if len(found) == 1:
            parent.stash[STRATEGY] = next(iter(found))
        else:
            marker = parent.get_closest_marker(MARKER)
            parent.stash[STRATEGY] = _plan(marker, parent, default).strategy
    _watch_fixtures(config, plans)
    if wider_needed and not config.pluginmanager.has_plugin(WIDER_WATCH):
        config.pluginmanager.register(WiderWatch(), WIDER_WATCH)
    watch_own_app(config, _building_own_app, fixtures.usage_exit)
    keep_written_order(items, flows)
    parallel.report_flows(config, flows)


def _building_own_app(config: pytest.Config):
    """While the user's session-scoped ``app`` fixture runs: its engines go to test databases."""
    from .app import building_app

    return building_app(parallel.claim_request(config), engines=bool(config.stash[SETTINGS].engine))



def _drop_idle_fixtures(item: pytest.Item, database: bool) -> None:
    """Take the autouse scope fixtures that would do nothing off the item.

    An autouse fixture that returns at once still costs pytest's setup and
    teardown of a fixture, per test: the class scope for every test outside a
    class, the test scope for every test that does not use the database.
    """
    names = getattr(item, "fixturenames", None)
    if not isinstance(names, list):
        return
    idle = []
    if item.getparent(pytest.Class) is None:
        idle.append("_testbed_class_scope")
    if not database:
        idle.append("_testbed_test_scope")
    if any(name in names for name in idle):
        # A new list: the parametrized items of one function share theirs.
        item.fixturenames = [name for name in names if name not in idle]


def _plan(marker: pytest.Mark | None, node: pytest.Node, default: str, shared: bool = False):
    if marker is None:
        return TestPlan(default, shared)
    where = f"@pytest.mark.{MARKER} on {node.nodeid}"
    unknown = set(marker.kwargs) - set(MARKER_ARGUMENTS)
    if unknown:
        raise pytest.UsageError(
            f"unknown argument {', '.join(sorted(unknown))} in {where}: "
            f"use {', '.join(a + '=' for a in MARKER_ARGUMENTS)}"
        )
    strategy = marker.kwargs.get("strategy") or (marker.args[0] if marker.args else default)
    try:
        check_strategy(strategy, where=where)
    except TestbedError as exc:
        raise pytest.UsageError(str(exc)) from None
    options = marker.kwargs.get("config")
    if options is not None and not isinstance(options, dict):
        raise pytest.UsageError(f"config= in {where} must be a dict of app.config values")
    return TestPlan(strategy, shared, options, bool(marker.kwargs.get("reset_sequences")))
