"""After each database test, in-memory state is back: extensions, hooks, nested config."""

import pytest
from conftest import APPS, one_error_line
from test_isolation import STRATEGIES

STATEFUL_INI = "[pytest]\ntestbed_app = stateful:create_app\n"


@pytest.fixture
def stateful(shop):
    shop.pytester.makepyfile(stateful=(APPS / "stateful.py").read_text())
    shop.pytester.makeini(STATEFUL_INI)
    return shop


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_rate_limit_counter_starts_over_in_every_test(stateful, strategy):
    result = stateful.run(
        f"--testbed-strategy={strategy}",
        test_limits="""
import pytest

@pytest.mark.parametrize("attempt", range(3))
def test_one_call_per_minute_is_allowed(client, attempt):
    assert client.get("/once").status_code == 200
    assert client.get("/once").status_code == 429
""",
    )
    result.assert_outcomes(passed=3)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_nested_config_changed_in_place_is_back_in_the_next_test(stateful, strategy):
    result = stateful.run(
        f"--testbed-strategy={strategy}",
        test_config="""
import pytest

@pytest.fixture(scope="module")
def regions(app):
    app.config["FEATURES"]["regions"].append("us")  # the module's, kept for its tests

def test_1_changes_nested_values(app, client, regions):
    app.config["FEATURES"]["beta"] = True
    app.config["FEATURES"]["regions"].append("asia")
    app.config.setdefault("NEW", {})["x"] = 1
    assert client.get("/features").json == {"beta": True, "regions": ["eu", "us", "asia"]}

def test_2_sees_the_values_it_started_with(app, client, regions):
    assert client.get("/features").json == {"beta": False, "regions": ["eu", "us"]}
    assert "NEW" not in app.config

def test_3_a_restored_value_can_change_again(app, client, regions):
    app.config["FEATURES"]["regions"].clear()
    assert client.get("/features").json["regions"] == []

def test_4_and_comes_back_again(client, regions):
    assert client.get("/features").json == {"beta": False, "regions": ["eu", "us"]}
""",
    )
    result.assert_outcomes(passed=4)


def test_the_hook_and_the_ini_callables_run_after_each_database_test(stateful):
    stateful.pytester.makeini(
        STATEFUL_INI + "testbed_reset = resetters:first resetters:Holder.second\n"
    )
    stateful.pytester.makepyfile(
        resetters="""
calls = []

def first(app):
    calls.append(("first", app.name))

class Holder:
    @staticmethod
    def second(app):
        calls.append(("second", app.name))
""",
        conftest="""
import resetters

def pytest_testbed_reset(app):
    resetters.calls.append(("hook", app.name))
""",
    )
    result = stateful.run(
        test_calls="""
from resetters import calls

def test_1_database(client):
    assert calls == []

def test_2_no_database():
    assert calls == [("first", "shop"), ("second", "shop"), ("hook", "shop")]

def test_3_database(app):
    assert len(calls) == 3

def test_4_after(app):
    assert len(calls) == 6
""",
    )
    result.assert_outcomes(passed=4)


@pytest.mark.parametrize("backend", ["sqlite"])  # in-process state: the database plays no part
def test_the_option_and_the_environment_name_the_callables_too(stateful, monkeypatch):
    stateful.pytester.makepyfile(
        resetters="calls = []\ndef record(app):\n    calls.append(app.name)\n"
    )
    test = (
        "import resetters\n"
        "def test_1(app):\n    pass\n"
        "def test_2():\n    assert resetters.calls == ['shop']\n"
    )
    stateful.pytester.makepyfile(test_option=test, test_env=test)
    result = stateful.run("--testbed-reset=resetters:record", "test_option.py")
    result.assert_outcomes(passed=2)
    monkeypatch.setenv("TESTBED_RESET", "resetters:record")
    result = stateful.run("test_env.py")
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize("backend", ["sqlite"])  # refused before any database is used
@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("resetters", "ERROR: testbed_reset entry 'resetters' is not of the form module:callable"),
        ("missing_module:fn", "ERROR: cannot import 'missing_module' for testbed_reset entry "
         "'missing_module:fn': ModuleNotFoundError"),
        ("resetters:nothing", "ERROR: module 'resetters' has no attribute 'nothing' "
         "(testbed_reset entry 'resetters:nothing'); name a function that takes the app"),
        ("resetters:LIMIT", "ERROR: testbed_reset entry 'resetters:LIMIT' names a int, which "
         "cannot be called; name a function that takes the app"),
    ],
)
def test_a_bad_reset_entry_stops_the_run_in_one_line(stateful, entry, expected):
    stateful.pytester.makeini(STATEFUL_INI + f"testbed_reset = {entry}\n")
    stateful.pytester.makepyfile(resetters="LIMIT = 3\n")
    line = one_error_line(stateful.run(test_x="def test_x(app):\n    pass\n"))
    assert line.startswith(expected), line


@pytest.mark.parametrize("backend", ["sqlite"])  # in-process state: the database plays no part
def test_a_user_logged_in_outside_a_request_is_forgotten(stateful):
    result = stateful.run(
        test_login="""
from flask_login import current_user, login_user
from stateful import User

def test_1_logs_in(app, client):
    # A request context of the test's app shares the test's app context, and so its g.
    with app.test_request_context():
        login_user(User("ann"))
        assert current_user.id == "ann"

def test_2_is_anonymous(app, client):
    with app.test_request_context():
        assert current_user.is_anonymous
    assert client.get("/whoami").json == {"user": None}

def test_3_logs_in_without_the_database(app):
    with app.test_request_context():
        login_user(User("bob"))

def test_4_is_anonymous_without_the_database(app):
    with app.test_request_context():
        assert current_user.is_anonymous
""",
    )
    result.assert_outcomes(passed=4)


@pytest.mark.parametrize("backend", ["sqlite"])  # in-process state: the database plays no part
def test_the_simple_cache_is_empty_in_every_test(stateful):
    result = stateful.run(
        test_cache="""
import pytest
from stateful import cache

@pytest.mark.parametrize("attempt", range(2))
def test_cache_starts_empty(app, attempt):
    assert cache.get("answer") is None
    cache.set("answer", 42)
""",
    )
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize("backend", ["sqlite"])  # in-process state: the database plays no part
def test_the_mail_outbox_is_empty_in_every_test(stateful):
    result = stateful.run(
        test_mail="""
import pytest

@pytest.mark.parametrize("attempt", range(2))
def test_one_mail_sent(app, client, attempt):
    assert client.post("/mail").json == {"sent": 1}
    assert len(app.extensions["mailman"].outbox) == 1
""",
    )
    result.assert_outcomes(passed=2)
