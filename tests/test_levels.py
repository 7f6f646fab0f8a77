"""Test levels: each test is unit, integration, functional or e2e, from the fixtures it uses.

Checked as a user sees them: ``-m <level>`` selects the tests of that level,
and the run ends with one line of counts and time per level.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import run_as_a_user

from flask_testbed import levels, plugin

#: user fixtures: one on top of `client`, and a stand-in for a server fixture
LEVELLED_CONFTEST = """
import time

import pytest

@pytest.fixture
def logged_in(client):
    client.set_cookie("user", "alice")
    return client

@pytest.fixture
def live_server(app):
    return "http://127.0.0.1:5000"

@pytest.fixture
def slow():
    time.sleep(0.1)
    yield
    time.sleep(0.1)
"""

LEVELLED_TESTS = """
import time

import pytest
from shop import Item, db

def test_pure():
    assert sorted([2, 1]) == [1, 2]

def test_pure_with_plain_fixtures(tmp_path, slow):
    time.sleep(0.1)
    assert tmp_path.exists()

def test_rows(db_session):
    db_session.add(Item(name="a"))
    db_session.commit()
    assert db_session.query(Item).count() == 1

def test_app_alone(app):
    assert app.testing

@pytest.mark.testbed
def test_marked_for_the_database():
    assert db.session.query(Item).count() == 0

def test_request(client):
    assert client.get("/items").json == []

def test_command(runner):
    assert runner.invoke(args=["add-item"]).exit_code == 0

def test_through_a_user_fixture(logged_in):
    assert logged_in.get("/cookies").status_code == 200

def test_in_a_browser(live_server):
    assert live_server.startswith("http://")
"""

FLOW_TESTS = """
def test_flow(client_module):
    assert client_module.get("/items").json == []
"""

EXPECTED = {
    "unit": {"test_levelled.py::test_pure", "test_levelled.py::test_pure_with_plain_fixtures"},
    "integration": {
        "test_levelled.py::test_rows",
        "test_levelled.py::test_app_alone",
        "test_levelled.py::test_marked_for_the_database",
    },
    "functional": {
        "test_levelled.py::test_request",
        "test_levelled.py::test_command",
        "test_levelled.py::test_through_a_user_fixture",
        "test_flow.py::test_flow",
    },
    "e2e": {"test_levelled.py::test_in_a_browser"},
}
TOTAL = sum(len(ids) for ids in EXPECTED.values())
LEVEL_LINE = re.compile(r"^levels: .*")
PART = re.compile(r"(unit|integration|functional|e2e) (\d+) \((\d+\.\d\d)s\)")


def selected(result: pytest.RunResult) -> set[str]:
    """The node ids a ``--collect-only -q`` run lists."""
    return {line for line in result.stdout.lines if "::" in line}


def level_lines(result: pytest.RunResult) -> list[str]:
    return [line for line in result.stdout.lines if LEVEL_LINE.match(line)]


def summary(result: pytest.RunResult) -> dict[str, tuple[int, float]]:
    """The run's one level line, as {level: (tests, seconds)} in the order printed."""
    lines = level_lines(result)
    assert len(lines) == 1, result.stdout.str()
    parts = PART.findall(lines[0])
    assert lines[0] == "levels: " + ", ".join(f"{lv} {n} ({s}s)" for lv, n, s in parts), lines
    return {level: (int(count), float(seconds)) for level, count, seconds in parts}


def assert_just_above_the_outcome_line(result: pytest.RunResult) -> None:
    lines = result.stdout.lines
    after = lines[lines.index(level_lines(result)[0]) + 1]
    assert re.match(r"^=+ \d+ (passed|failed)", after), result.stdout.str()


def make_levelled(shop) -> None:
    shop.pytester.makeconftest(LEVELLED_CONFTEST)
    shop.pytester.makepyfile(test_levelled=LEVELLED_TESTS, test_flow=FLOW_TESTS)


def test_every_fixture_of_the_plugin_has_a_level():
    """A fixture added to the plugin's list without a level would make its tests unit."""
    levelled = frozenset().union(*(fixtures for _, fixtures in levels.RAISED_BY))
    assert levelled >= plugin.DATABASE_FIXTURES


def test_each_test_gets_the_level_of_its_fixtures(shop):
    make_levelled(shop)
    for level, expected in EXPECTED.items():
        result = shop.run("--collect-only", "-q", "--strict-markers", "-m", level)
        assert result.ret == pytest.ExitCode.OK, result.stdout.str()
        assert selected(result) == expected, level


def test_minus_m_unit_runs_only_the_unit_tests(shop):
    make_levelled(shop)
    result = shop.run("-m", "unit", "--strict-markers", "-v")
    result.assert_outcomes(passed=2, deselected=TOTAL - 2)
    ran = {line.split(" ")[0] for line in result.stdout.lines if " PASSED" in line}
    assert ran == EXPECTED["unit"]
    assert list(summary(result)) == ["unit"]


@pytest.mark.parametrize("workers", [0, 2], ids=["serial", "xdist-n2"])
def test_the_run_ends_with_counts_and_time_per_level(shop, workers):
    make_levelled(shop)
    result = shop.run_subprocess("-n", str(workers), timeout=300) if workers else shop.run()
    result.assert_outcomes(passed=TOTAL)
    counts = summary(result)
    assert list(counts) == list(levels.LEVELS)
    assert {level: n for level, (n, _) in counts.items()} == {
        level: len(ids) for level, ids in EXPECTED.items()
    }
    # test_pure_with_plain_fixtures sleeps 0.1 s in its fixture's setup, its
    # body and its fixture's teardown: all three count.
    assert counts["unit"][1] >= 0.3, counts
    # And nothing but the tests: no more than the run lasted on each process that
    # ran tests (a bound measured in the same run, however loaded the machine).
    assert counts["unit"][1] <= result.duration * max(1, workers), (counts, result.duration)
    assert_just_above_the_outcome_line(result)


def test_the_line_counts_failed_and_skipped_tests_and_only_levels_that_ran(shop):
    result = shop.run(
        test_mixed="""
import pytest

def test_fails():
    assert False

@pytest.mark.skip(reason="not today")
def test_skipped(client):
    pass

def test_errors_in_teardown(broken):
    pass

@pytest.fixture
def broken(db_session):
    yield
    raise RuntimeError("teardown")
""",
    )
    result.assert_outcomes(failed=1, skipped=1, passed=1, errors=1)
    assert_just_above_the_outcome_line(result)  # after pytest's short test summary too
    result.stdout.fnmatch_lines(["*short test summary info*", "FAILED *", "ERROR *", "levels: *"])
    counts = summary(result)
    # Each test once, whatever its outcome and however many of its phases failed.
    assert {level: n for level, (n, _) in counts.items()} == {
        "unit": 1, "integration": 1, "functional": 1,
    }


def test_quiet_runs_keep_the_line_and_empty_runs_have_none(shop):
    shop.pytester.makepyfile(test_one="def test_one(db_session):\n    pass\n")
    assert list(summary(shop.run("-q"))) == ["integration"]
    very_quiet = shop.run("-qq")
    assert very_quiet.ret == pytest.ExitCode.OK
    assert level_lines(very_quiet) == []
    assert "1 passed" not in very_quiet.stdout.str()  # pytest's own line is gone too
    nothing = shop.run("-k", "no_such_test")
    assert nothing.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert level_lines(nothing) == []


CARRIED_CONFTEST = """
import pytest

def pytest_collection_modifyitems(items):
    for item in items:
        if "journey" in item.name:
            item.add_marker(pytest.mark.e2e)
"""

CARRIED_TESTS = """
import pytest

@pytest.mark.unit
def test_fast_enough_for_its_author(client):
    pass

def test_journey_marked_by_a_hook(client):
    pass

@pytest.mark.integration
class TestRepository:
    def test_lists(self, client):
        pass

    @pytest.mark.functional
    def test_closest_level_counts(self, db_session):
        pass

@pytest.mark.parametrize("n", [pytest.param(1, marks=pytest.mark.e2e), 2])
def test_a_param_of_its_own(n, db_session):
    pass
"""

CARRIED_MODULE = """
import pytest

pytestmark = pytest.mark.e2e

def test_api(client):
    pass

def test_helper():
    pass
"""


def test_a_level_the_test_carries_wins(shop):
    shop.pytester.makeconftest(CARRIED_CONFTEST)
    shop.pytester.makepyfile(test_carried=CARRIED_TESTS, test_e2e_module=CARRIED_MODULE)
    found = {
        level: selected(shop.run("--collect-only", "-q", "--strict-markers", "-m", level))
        for level in levels.LEVELS
    }
    assert found == {
        "unit": {"test_carried.py::test_fast_enough_for_its_author"},
        # The class's marker stays on its tests (pytest's -m sees every marker
        # a test inherits); the plugin adds none to any of them.
        "integration": {
            "test_carried.py::TestRepository::test_lists",
            "test_carried.py::TestRepository::test_closest_level_counts",
            "test_carried.py::test_a_param_of_its_own[2]",
        },
        "functional": {"test_carried.py::TestRepository::test_closest_level_counts"},
        "e2e": {
            "test_carried.py::test_journey_marked_by_a_hook",
            "test_carried.py::test_a_param_of_its_own[1]",
            "test_e2e_module.py::test_api",
            "test_e2e_module.py::test_helper",
        },
    }
    result = shop.run()
    result.assert_outcomes(passed=8)
    # Counted at the closest level it carries.
    assert {level: n for level, (n, _) in summary(result).items()} == {
        "unit": 1, "integration": 2, "functional": 1, "e2e": 4,
    }


def test_a_directory_named_like_a_level_is_not_one(shop):
    """A test's keywords hold its directories' names: the level is never read from them."""
    folder = shop.pytester.mkdir("e2e")
    (folder / "test_in_folder.py").write_text("def test_rows(db_session):\n    pass\n")
    result = shop.run("-m", "e2e")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED  # 1 deselected
    result = shop.run()
    result.assert_outcomes(passed=1)
    assert {level: n for level, (n, _) in summary(result).items()} == {"integration": 1}


def test_levels_can_be_switched_off_in_the_ini_file(shop):
    shop.pytester.makeini(
        "[pytest]\ntestbed_app = shop:create_app\ntestbed_levels = false\n"
    )
    make_levelled(shop)
    shop.pytester.makepyfile(
        test_own="import pytest\n\n@pytest.mark.unit\ndef test_marked_by_hand(client):\n    pass\n"
    )
    # The markers stay registered: a hand-set level passes --strict-markers.
    result = shop.run("-m", "unit", "--strict-markers", "-v")
    result.assert_outcomes(passed=1, deselected=TOTAL)
    result.stdout.fnmatch_lines(["test_own.py::test_marked_by_hand PASSED*"])
    assert level_lines(result) == []
    everything = shop.run()
    everything.assert_outcomes(passed=TOTAL + 1)
    assert level_lines(everything) == []


def test_the_markers_are_listed(pytester):
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines_random(
        [
            "@pytest.mark.unit: test level, set by flask-testbed *: uses neither the app nor *",
            "@pytest.mark.integration: test level, * uses the app or the database*",
            "@pytest.mark.functional: test level, * client, client_module or runner",
            "@pytest.mark.e2e: test level, * live_server",
        ]
    )


OWN_NARROW_APP = """
import pytest
from flask import Flask

@pytest.fixture
def app():
    return Flask("own")

@pytest.fixture
def client(app):
    return app.test_client()
"""

PLAIN_TESTS = """
def test_uses_its_own_client(client):
    assert client.get("/nowhere").status_code == 404

def test_pure():
    pass
"""


def test_a_suite_that_does_not_use_the_plugin_gets_no_levels(pytester):
    """Installing the plugin changes nothing there: no marker, no line, no report wrapper."""
    pytester.makepyfile(
        test_plain="""
def test_pure(pytestconfig):
    assert not pytestconfig.pluginmanager.has_plugin("flask_testbed.levels")
"""
    )
    plain = pytester.runpytest("-p", "no:randomly", "-m", "unit")
    assert plain.ret == pytest.ExitCode.NO_TESTS_COLLECTED  # 1 deselected
    everything = pytester.runpytest("-p", "no:randomly")
    everything.assert_outcomes(passed=1)
    assert level_lines(everything) == []

    pytester.makeconftest(OWN_NARROW_APP)
    pytester.makepyfile(test_plain=PLAIN_TESTS)
    own = pytester.runpytest("-p", "no:randomly", "-m", "unit or functional")
    assert own.ret == pytest.ExitCode.NO_TESTS_COLLECTED  # 2 deselected
    left_alone = pytester.runpytest("-p", "no:randomly")
    left_alone.assert_outcomes(passed=2)
    assert level_lines(left_alone) == []


def test_a_suite_with_its_own_session_app_gets_levels_even_in_a_unit_only_run(pytester):
    pytester.makeconftest(OWN_NARROW_APP.replace("@pytest.fixture\ndef app", "@pytest.fixture("
                                                 "scope='session')\ndef app"))
    pytester.makepyfile(test_pure="def test_pure():\n    pass\n")
    result = pytester.runpytest("-p", "no:randomly", "-m", "unit")
    result.assert_outcomes(passed=1)
    assert list(summary(result)) == ["unit"]


def test_the_example_app_runs_its_unit_tests_alone(tmp_path: Path) -> None:
    """``pytest examples/myapp -m unit``, as a user runs it from the repository root."""
    completed = run_as_a_user("examples/myapp", "-m", "unit", "--strict-markers", "-v")
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    ran = [line for line in completed.stdout.splitlines() if " PASSED" in line]
    assert ran, output[-3000:]
    # The example's files of plain rules, and nothing that needs the app or its database.
    unit_files = {"test_note_fields.py", "test_validation.py", "test_email_rules.py",
                  "test_next_page.py"}
    files = {line.split("::")[0].rsplit("/", 1)[-1] for line in ran}
    assert files == unit_files, ran
    outcome = re.search(r"(\d+) passed, (\d+) deselected", completed.stdout)
    assert outcome is not None, output[-3000:]
    assert int(outcome.group(1)) == len(ran)
    assert int(outcome.group(2)) >= 30  # every test of the app and its database
    assert re.search(rf"^levels: unit {len(ran)} \(\d+\.\d\ds\)$", completed.stdout, re.M), (
        output[-3000:]
    )
