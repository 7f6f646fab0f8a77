"""Test levels: each test is unit, integration, functional or e2e, from the fixtures it uses.

A suite's fast tests are the ones that touch neither the app nor the
database; nobody keeps marking them by hand, so the plugin does: ``pytest -m
unit`` runs them, and the run ends with one line of counts and time per level,
which shows where the suite's time goes.

The level comes from the test's whole fixture closure (``item.fixturenames``):
a test whose ``logged_in`` fixture uses ``client`` is functional, although it
never names ``client`` itself. The highest level wins. Names, not definitions,
decide, as they do for the plugin's isolation: a suite's own ``client`` fixture
(pytest-flask's convention) counts like the plugin's. A level the test already
carries (a marker on it, its class or its module, or one a ``conftest.py`` hook
added) is the user's decision: it is kept, and nothing is added.

Installing the plugin changes nothing for a suite that does not use it (see
:mod:`flask_testbed.adoption`): a run gets levels only when ``testbed_app`` is
set, when a test uses one of the plugin's fixtures or its marker, or when the
suite has a session-scoped ``app`` fixture of its own; and never the tests of
a suite the plugin leaves alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pytest

from .adoption import OWN_NARROW_APP, OWN_SESSION_APP, suite_app

LEVELS = ("unit", "integration", "functional", "e2e")
_MEANING = {
    "unit": "uses neither the app nor the database",
    "integration": "uses the app or the database (app, db, db_session, ...), no client",
    "functional": "drives the app as its callers do: client, client_module or runner",
    "e2e": "runs against a real server: live_server",
}
#: the fixtures that raise a test to a level, highest level first
RAISED_BY = (
    ("e2e", frozenset({"live_server"})),
    (
        "functional",
        frozenset({"client", "test_client", "client_module", "test_client_module", "runner"}),
    ),
    (
        "integration",
        frozenset(
            {
                "app", "test_app", "db", "db_session", "session", "clean_database",
                "assert_num_queries", "assert_max_queries", "_testbed",
            }
        ),
    ),
)
INI = "testbed_levels"
#: the level of a test the plugin gave levels to (automatic or carried)
LEVEL = pytest.StashKey[str]()
#: the attribute that carries a test's level on its reports, to the xdist controller too
REPORT_ATTRIBUTE = "testbed_level"
PLUGIN_NAME = "flask_testbed.levels"


def add_ini(parser: pytest.Parser) -> None:
    parser.addini(
        INI,
        type="bool",
        default=True,
        help="mark each test unit, integration, functional or e2e from the fixtures it uses "
        "(a test that carries one of these markers keeps it), and end the run with a line of "
        "counts and time per level (default true)",
    )


def enabled(config: pytest.Config) -> bool:
    return bool(config.getini(INI))


def register_markers(config: pytest.Config) -> None:
    """Always registered, even with levels off: ``--strict-markers`` accepts a hand-set level."""
    for level in LEVELS:
        config.addinivalue_line(
            "markers",
            f"{level}: test level, set by flask-testbed unless the test carries one: "
            f"{_MEANING[level]}",
        )


def level_of(fixturenames: Iterable[str], marked: bool = False) -> str:
    """The level that a test's fixture closure gives it.

    ``marked``: the test carries the plugin's marker, which grants it the
    database as ``db_session`` would.
    """
    names = frozenset(fixturenames)
    for level, fixtures in RAISED_BY:
        if not fixtures.isdisjoint(names):
            return level
    return "integration" if marked else "unit"


def carried_level(item: pytest.Item) -> str | None:
    """The level marker the test carries itself: the closest (test, class, module) if several."""
    for mark in item.iter_markers():
        if mark.name in LEVELS:
            return mark.name
    return None


def mark(config: pytest.Config, items: list[pytest.Item], configured: bool, marker: str) -> None:
    """Give each collected test its level, and remember it for the test's reports.

    Must run after the hooks of ``conftest.py`` files (a level they add is the
    user's) and before pytest's own ``-m`` deselection, which runs in the same
    hook: the plugin's module-level ``pytest_collection_modifyitems`` does both,
    because pytest calls a hook's implementations newest plugin first, and its
    built-in ``mark`` plugin is older than this one, every ``conftest.py``
    newer. ``configured``: ``testbed_app`` is set; ``marker``: the plugin's
    own marker's name.
    """
    if not enabled(config):
        return
    active = configured
    kinds: dict[object, str] = {}
    found: list[tuple[pytest.Item, str | None, str]] = []
    for item in items:
        if not configured:
            # One answer per module or class: its tests see the same `app` fixture.
            kind = kinds.get(item.parent)
            if kind is None:
                kind = kinds[item.parent] = suite_app(item)
            if kind == OWN_NARROW_APP:
                continue  # a suite the plugin leaves alone
            active = active or kind == OWN_SESSION_APP
        automatic = level_of(
            getattr(item, "fixturenames", ()), item.get_closest_marker(marker) is not None
        )
        active = active or automatic != "unit"
        found.append((item, carried_level(item), automatic))
    if not active:
        # Nothing in this run uses the plugin: its tests are left as they were,
        # and none of them pays for the report wrapper.
        summary = config.pluginmanager.get_plugin(PLUGIN_NAME)
        if summary is not None:
            config.pluginmanager.unregister(summary)
        return
    for item, carried, automatic in found:
        if carried is None:
            item.add_marker(automatic)
        item.stash[LEVEL] = carried or automatic


@dataclass(eq=False)  # a plugin: registered by identity, so hashable
class LevelSummary:
    """Counts and times the tests of each level from their reports, and prints the line.

    It reads reports rather than items: under pytest-xdist the controller that
    prints the summary never collects, and a worker's report reaches it with
    the level attribute it was given (a report's extra attributes travel with
    it). ``report.keywords`` would not do: it also holds the names of the
    test's directories, and ``tests/unit/`` is a common one.
    """

    #: per level, the node ids of its tests that reported (a test counts once)
    tests: dict[str, set[str]] = field(default_factory=dict)
    #: per level, the sum of its tests' setup, call and teardown durations
    seconds: dict[str, float] = field(default_factory=dict)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        level = item.stash.get(LEVEL, None)
        if level is not None:
            setattr(report, REPORT_ATTRIBUTE, level)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        level = getattr(report, REPORT_ATTRIBUTE, None)
        if level not in LEVELS:
            return
        self.tests.setdefault(level, set()).add(report.nodeid)
        self.seconds[level] = self.seconds.get(level, 0.0) + report.duration

    def line(self) -> str | None:
        """``levels: unit 12 (0.03s), integration 30 (1.20s)``: the levels that ran, in order."""
        parts = [
            f"{level} {len(self.tests[level])} ({self.seconds[level]:.2f}s)"
            for level in LEVELS
            if level in self.tests
        ]
        return f"levels: {', '.join(parts)}" if parts else None

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter):
        """Print the line last, right above pytest's own ``3 passed in 0.12s``.

        The outermost wrapper: after every other summary, pytest's short test
        summary (its own wrapper's end) included. Shown with ``-q``, which keeps
        pytest's line too; ``-qq`` hides both. Alone at the end, it would be the
        last line with a duration, which tools that read the outcome from that
        line (pytester's ``parseoutcomes``) would take for pytest's.
        """
        result = yield
        line = self.line()
        if line is not None and terminalreporter.verbosity >= -1:
            terminalreporter.write_line(line)
        return result
