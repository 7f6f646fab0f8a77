"""live_server: the app over real HTTP from a thread, each request inside the test's sandbox."""

import os
import sys
from pathlib import Path

import pytest

STRATEGIES = ["transaction", "truncate"]

HTTP = """
import json
import threading
import urllib.error
import urllib.request

import pytest
from shop import Item, db


def get(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def post(url, payload):
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None
"""

LIVE = HTTP + """

@pytest.fixture
def fixture_item(db):
    item = Item(name="from-fixture")
    db.session.add(item)
    db.session.commit()
    return item


def test_1_a_fixture_row_is_served(live_server, fixture_item):
    assert live_server.url("/items") == f"http://127.0.0.1:{live_server.port}/items"
    assert live_server.app is not None
    assert get(live_server.url("/items")) == ["from-fixture"]


def test_2_a_row_made_over_http_is_the_tests(live_server):
    assert post(live_server.url("/items"), {"name": "over-http"}) == (201, ["over-http"])
    assert [item.name for item in db.session.query(Item)] == ["over-http"]
    # A request's uncommitted work is discarded, as in production.
    assert post(live_server.url("/items/forgetful"), {"name": "lost"})[0] == 201
    assert get(live_server.url("/items")) == ["over-http"]


def test_3_and_gone_in_the_next(live_server):
    assert get(live_server.url("/items")) == []
    assert db.session.query(Item).count() == 0


def test_4_concurrent_requests_take_turns_with_the_test(live_server, pytestconfig):
    errors = []
    # In-memory SQLite under truncate is one connection for every thread, with
    # no savepoints: a test writing while a request runs would share its
    # transaction (the README says so). There the requests race each other only.
    one_connection = (db.engine.url.database in (None, "", ":memory:")
                      and pytestconfig.getoption("testbed_strategy") == "truncate")

    def hammer(prefix):
        try:
            for n in range(5):
                status, _ = post(live_server.url("/items"), {"name": f"{prefix}-{n}"})
                assert status == 201
        except BaseException as exc:  # reported below
            errors.append(repr(exc))

    workers = [threading.Thread(target=hammer, args=(p,)) for p in ("a", "b")]
    for worker in workers:
        worker.start()
    # Meanwhile the test writes and reads through its own session (ending each
    # read, as an SQLite file shared with other connections needs under truncate).
    for n in range(5):
        if one_connection:
            break
        db.session.add(Item(name=f"test-{n}"))
        db.session.commit()
        db.session.query(Item).count()
        db.session.commit()
    for worker in workers:
        worker.join(60)
    assert errors == []
    expected = 10 if one_connection else 15
    assert db.session.query(Item).count() == expected
    assert len(get(live_server.url("/items"))) == expected


def test_5_a_request_may_wait_for_its_own_thread(live_server):
    status, names = post(live_server.url("/items/threaded"), {"name": "job"})
    assert (status, names) == (200, ["job"])


def test_6_nothing_is_left(live_server):
    assert get(live_server.url("/items")) == []


def test_7_a_connection_opened_and_never_used_holds_nothing_up(live_server):
    # Browsers open connections ahead of time (Chromium does); one that never
    # sends a request must not keep the next request waiting.
    import socket

    idle = socket.create_connection((live_server.host, live_server.port))
    try:
        with urllib.request.urlopen(live_server.url("/items"), timeout=5) as response:
            assert json.loads(response.read()) == []
    finally:
        idle.close()
"""


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_live_server_serves_each_tests_own_data(shop, backend, strategy):
    result = shop.run_subprocess(f"--testbed-strategy={strategy}", test_live=LIVE, timeout=240)
    result.assert_outcomes(passed=7)
    if strategy == "transaction":
        assert shop.count("item") == 0


def test_live_server_on_in_memory_sqlite(shop, backend):
    if backend != "sqlite":
        pytest.skip("in-memory databases are SQLite's")
    shop.database_url = None  # the app's default: sqlite:// in memory
    for strategy in STRATEGIES:
        result = shop.run_subprocess(f"--testbed-strategy={strategy}", test_live=LIVE, timeout=240)
        result.assert_outcomes(passed=7)


OUTLIVING = HTTP + """
import time


def test_1_leaves_a_request_running(live_server):
    threading.Thread(
        target=post, args=(live_server.url("/items/slow"), {"name": "late", "delay": 1.5}),
        daemon=True,
    ).start()
    time.sleep(0.3)  # the request is in flight


def test_2_starts_clean(live_server):
    time.sleep(2)  # the late request has tried to write by now
    assert get(live_server.url("/items")) == []
    assert db.session.query(Item).count() == 0
"""


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_request_outliving_its_test_is_reported(shop, monkeypatch, strategy):
    monkeypatch.setenv("TESTBED_LIVE_SERVER_WAIT", "0.2")
    result = shop.run_subprocess(
        f"--testbed-strategy={strategy}", test_outliving=OUTLIVING, timeout=240
    )
    output = result.stdout.str()
    assert (
        "the live server's request POST /items/slow was still running when "
        "test_outliving.py::test_1_leaves_a_request_running ended (waited 0.2 s, "
        "TESTBED_LIVE_SERVER_WAIT)"
    ) in output, output
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] == 2 and outcomes.get("errors", outcomes.get("error")) >= 1, output
    assert shop.count("item") == 0


SCOPED = HTTP + """
PORTS = []


def test_1(live_server):
    PORTS.append(live_server.port)
    assert post(live_server.url("/items"), {"name": "one"})[0] == 201


def test_2(live_server):
    PORTS.append(live_server.port)
    assert get(live_server.url("/items")) == []


def test_3_ports():
    assert len(set(PORTS)) == EXPECTED
"""


@pytest.mark.parametrize(("scope", "servers"), [("session", 1), ("function", 2)])
def test_the_servers_scope_comes_from_the_ini(shop, backend, scope, servers):
    if backend != "sqlite":
        pytest.skip("the scope is the same on every backend")
    shop.pytester.makeini(
        f"[pytest]\ntestbed_app = shop:create_app\nlive_server_scope = {scope}\n"
    )
    result = shop.run(test_scoped=SCOPED.replace("EXPECTED", str(servers)))
    result.assert_outcomes(passed=3)


def test_a_bad_scope_is_one_line(shop, backend):
    if backend != "sqlite":
        pytest.skip("the check is the same on every backend")
    shop.pytester.makeini("[pytest]\ntestbed_app = shop:create_app\nlive_server_scope = forever\n")
    result = shop.run(test_scoped=SCOPED.replace("EXPECTED", "1"))
    assert "live_server_scope = 'forever' in the pytest ini: use one of session" in (
        result.stdout.str() + result.stderr.str()
    )
    assert result.ret != 0


#: where ``make`` installs pytest-flask: beside the environment, so that only
#: the run below loads it (installed, it would be loaded by every run)
PYTEST_FLASK = Path(sys.prefix) / "pytest-flask"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_with_pytest_flask_installed_too_this_live_server_is_used(
    shop, backend, monkeypatch, strategy
):
    if not (PYTEST_FLASK / "pytest_flask").is_dir():
        reason = f"pytest-flask is not installed in {PYTEST_FLASK.name}/ beside the environment"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (make installs it)")
        pytest.skip(f"{reason}: make .venv/bin/pytest installs it")
    paths = [str(PYTEST_FLASK), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    result = shop.run_subprocess(f"--testbed-strategy={strategy}", test_live=LIVE, timeout=240)
    assert "flask-1." in result.stdout.str()  # pytest-flask was loaded
    result.assert_outcomes(passed=7)
