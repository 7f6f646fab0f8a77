"""Test databases that manage themselves: naming, reuse, parallel workers, concurrent runs."""

import signal
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import (
    database_exists,
    exists,
    one_error_line,
    own,
    runs_at_once,
    server_url,
    sibling,
)

from flask_testbed.database.servers import drop_database


@pytest.fixture(params=["postgresql", "mariadb"])
def server(request):
    return sa.make_url(server_url(request.param))


@pytest.fixture
def configured(server, pytester):
    """An app whose own config names a database without 'test' in its name."""
    from conftest import APPS

    url = server.set(database=AUTO)
    expected = server.set(database=f"test_{AUTO}")
    drop_database(expected)
    pytester.makepyfile(shop=(APPS / "shop.py").read_text())
    pytester.makeini("[pytest]\ntestbed_app = shop:create_app\n")
    pytester.syspathinsert()
    plain = url.render_as_string(hide_password=False)
    yield plain, expected
    drop_database(expected)


def _run(pytester, url, *args, **files):
    if files:
        pytester.makepyfile(**files)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHOP_DATABASE_URL", url)
        mp.setenv("SHOP_AUDIT_URL", url)
        return pytester.runpytest("-p", "no:cacheprovider", *args)


AUTO = own("shop_auto")
USES_DB = f"""
from shop import db

def test_database_name(client):
    assert db.engine.url.database == "test_{AUTO}"
    assert client.post("/items", json={{"name": "a"}}).status_code == 201
"""


def test_a_configured_non_test_database_becomes_test_name_created_and_dropped(
    pytester, configured
):
    url, expected = configured
    result = _run(pytester, url, test_auto=USES_DB)
    result.assert_outcomes(passed=1)
    assert not database_exists(expected)
    assert not database_exists(sa.make_url(url))


def test_reuse_db_keeps_the_database_and_skips_an_unchanged_schema(pytester, configured):
    url, expected = configured
    first = _run(pytester, url, "--reuse-db", test_auto=USES_DB)
    first.assert_outcomes(passed=1)
    assert database_exists(expected)
    assert "reusing the test database" not in first.stdout.str()

    second = _run(pytester, url, "--reuse-db")
    second.assert_outcomes(passed=1)
    second.stdout.fnmatch_lines(
        ["*flask-testbed: reusing the test database: its schema is current*"]
    )

    forced = _run(pytester, url, "--reuse-db", "--create-db")
    forced.assert_outcomes(passed=1)
    assert "reusing the test database" not in forced.stdout.str()


def test_reuse_db_rebuilds_a_changed_schema(pytester, configured):
    url, _expected = configured
    _run(pytester, url, "--reuse-db", test_auto=USES_DB).assert_outcomes(passed=1)
    pytester.makeconftest(
        "from shop import db\n"
        "class Extra(db.Model):\n"
        "    id = db.Column(db.Integer, primary_key=True)\n"
    )
    changed = _run(
        pytester,
        url,
        "--reuse-db",
        test_extra="from conftest import Extra\n"
        "def test_new_table_exists(db_session):\n"
        "    assert Extra.query.count() == 0\n",
    )
    changed.assert_outcomes(passed=2)
    assert "reusing the test database" not in changed.stdout.str()


def test_a_run_killed_mid_test_leaves_nothing_for_the_next(shop, backend):
    killed = shop.run_subprocess(
        "--testbed-strategy=truncate",
        test_killed="""
import os, signal

def test_dies_after_committing(client):
    client.post("/items", json={"name": "orphan"})
    os.kill(os.getpid(), signal.SIGKILL)
""",
    )
    assert killed.ret == -signal.SIGKILL
    assert shop.count("item") == 1  # the killed run's committed row is still there
    for reuse in ((), ("--reuse-db",)):
        result = shop.run(
            *reuse,
            "-p", "no:randomly",
            test_killed="""
def test_starts_clean(client):
    assert client.get("/items").json == []
""",
        )
        result.assert_outcomes(passed=1)


XDIST_SUITE = """
import os
import pytest
from shop import db, names

@pytest.mark.parametrize("n", range(6))
def test_each_worker_has_its_own_database(client, n):
    worker = os.environ["PYTEST_XDIST_WORKER"]
    assert worker in db.engine.url.database
    client.post("/items", json={"name": f"{worker}-{n}"})
    assert names() == [f"{worker}-{n}"]
"""


def test_xdist_workers_get_databases_of_their_own(shop):
    result = shop.run_subprocess("-n", "2", test_xdist=XDIST_SUITE)
    result.assert_outcomes(passed=6)


SLOW_SUITE = """
import run_barrier
from shop import db

def test_holds_the_database(client):
    print("DATABASE=" + db.engine.url.database.rsplit("/", 1)[-1])
    client.post("/items", json={"name": "mine"})
    run_barrier.WAIT()
    assert client.get("/items").json == ["mine"]
"""


def _databases_used(outputs):
    return sorted(
        line.split("DATABASE=", 1)[1].split()[0]
        for out in outputs
        for line in out.splitlines()
        if "DATABASE=" in line
    )


def test_two_runs_at_once_each_get_databases_of_their_own(shop):
    """Two CI jobs on one server: neither waits for the other, neither sees the other's rows."""
    shop.pytester.makepyfile(test_slow=SLOW_SUITE.replace("WAIT", "both_claimed"))
    outputs = runs_at_once(
        ["-s", f"--testbed-db-url={shop.database_url}"], shop.pytester.path, shop.env
    )
    assert not any("waiting for it to finish" in out for out in outputs), outputs
    first, second = _databases_used(outputs)
    assert first != second
    # The second slot is the second run's own: made by it, gone with it.
    second_url = sa.make_url(shop.database_url)
    if second_url.get_backend_name() == "sqlite":
        assert not any(Path(shop.database_url.split("///", 1)[1]).parent.glob("*_2.db*"))
    else:
        assert not database_exists(second_url.set(database=f"{second_url.database}_2"))


def test_two_runs_with_reuse_db_wait_for_each_other(shop):
    """--reuse-db keeps one stable database: a second run waits for it, and says so."""
    shop.pytester.makepyfile(test_slow=SLOW_SUITE.replace("WAIT", "other_started"))
    outputs = runs_at_once(
        ["-s", "--reuse-db", f"--testbed-db-url={shop.database_url}"],
        shop.pytester.path,
        shop.env,
    )
    waited = [out for out in outputs if "waiting for it to finish" in out]
    assert len(waited) == 1, outputs
    assert "flask-testbed: another test run is using" in waited[0]
    first, second = _databases_used(outputs)
    assert first == second


def test_a_run_that_waits_for_another_runs_database_gives_up_in_one_line(
    shop, database_url, monkeypatch
):
    """--reuse-db waits for the run that holds its database, but not forever: after
    TESTBED_RUN_LOCK_TIMEOUT seconds it stops before any test, naming the database."""
    from flask_testbed.database.locks import RunLock

    monkeypatch.setenv("TESTBED_RUN_LOCK_TIMEOUT", "1")
    other_run = RunLock(sa.make_url(database_url))
    assert other_run.try_acquire()
    try:
        result = shop.run("--reuse-db", test_any=USES_DB)
    finally:
        other_run.release()
    line = one_error_line(result)
    assert line.startswith("ERROR: another test run has held ")
    assert line.endswith(
        " for 1 s, and --reuse-db waits for it: let that run finish (or stop it), run "
        "without --reuse-db (a run then takes a database of its own), or wait longer with "
        "TESTBED_RUN_LOCK_TIMEOUT=<seconds>"
    )
    assert sa.make_url(database_url).database.split("/")[-1] in line


def test_two_runs_at_once_on_an_automatic_database_both_clean_up(pytester, configured):
    """Both runs make test_<name> (and test_<name>_2) and drop what they made."""
    url, expected = configured
    pytester.makepyfile(test_slow=SLOW_SUITE.replace("WAIT", "both_claimed"))
    outputs = runs_at_once(
        ["-s"], pytester.path, {"SHOP_DATABASE_URL": url, "SHOP_AUDIT_URL": url}
    )
    assert not any("waiting for it to finish" in out for out in outputs), outputs
    assert _databases_used(outputs) == [expected.database, f"{expected.database}_2"]
    assert not database_exists(expected)
    assert not database_exists(expected.set(database=f"{expected.database}_2"))


def test_what_killed_runs_left_under_other_names_is_dropped_and_nothing_else(shop):
    """Slots and worker copies with the plugin's mark go; a look-alike the user made stays."""
    from conftest import create_database

    from flask_testbed.database.servers import ensure_database

    left = [sibling(shop.database_url, suffix) for suffix in ("7", "gw7", "7_gw9", "template")]
    for url in left:
        ensure_database(url)  # what a killed run made: marked
    users_own = sibling(shop.database_url, "8")
    if users_own.get_backend_name() == "sqlite":
        sa.create_engine(users_own).connect().close()  # an SQLite file without the mark
    else:
        create_database(users_own)
    try:
        shop.run(test_x="def test_x(client):\n    pass\n").assert_outcomes(passed=1)
        assert [url.database for url in left if exists(url)] == []
        assert exists(users_own)
    finally:
        drop_database(users_own)
        for url in left:
            drop_database(url)


def test_a_leftover_dropped_by_its_own_run_after_the_listing_is_passed_over(
    database_url, monkeypatch
):
    """Two runs on one server: what the sweep listed may be gone when it gets its lock."""
    from flask_testbed.database import leftovers

    base = sa.make_url(database_url)
    gone = sibling(database_url, "template")
    assert not exists(gone)
    monkeypatch.setattr(leftovers, "leftovers", lambda _base, _keep: [gone])
    assert leftovers.sweep(base, keep=[]) == []
    assert not exists(gone)


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_a_drop_at_the_end_behind_a_lock_waits_a_bounded_time(shop, backend, monkeypatch):
    """A connection of the test's own keeps a lock on the run's tables past the run's
    end: the drop gives up after TESTBED_LOCK_TIMEOUT and says so in one line."""
    monkeypatch.setenv("TESTBED_LOCK_TIMEOUT", "2")
    configured = sa.make_url(shop.database_url).set(database=own("shop_held"))
    shop.database_url = None
    shop.env["SHOP_DATABASE_URL"] = configured.render_as_string(hide_password=False)
    shop.env["SHOP_AUDIT_URL"] = shop.env["SHOP_DATABASE_URL"]
    with pytest.MonkeyPatch.context() as mp:
        for key, value in shop.env.items():
            mp.setenv(key, value)
        shop.pytester.makepyfile(test_held="""
import sqlalchemy as sa
from flask_testbed.database.own_engines import keep_apart
from shop import db

HELD = []

def test_holds_a_lock_past_the_end(db_session):
    engine = keep_apart(sa.create_engine(db.engine.url.render_as_string(hide_password=False)))
    connection = engine.connect()
    connection.execute(sa.text("SELECT COUNT(*) FROM item"))
    HELD.append(connection)
""")
        result = shop.pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    output = result.stdout.str() + "\n" + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, output
    assert "waited 2 s for a lock held by connection" in errors[0]
    drop_database(sa.make_url(configured).set(database=f"test_{own('shop_held')}"))


def test_reuse_db_rebuilds_a_schema_whose_tables_are_gone(shop):
    """The record says current, but a table was dropped since (by hand, by a killed run)."""
    tests = "def test_uses_tags(client):\n    assert client.get('/items').json == []\n"
    shop.run("--reuse-db", test_tags=tests).assert_outcomes(passed=1)
    engine = sa.create_engine(shop.database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE tag"))
    engine.dispose()
    result = shop.run("--reuse-db", test_tags=tests)
    result.assert_outcomes(passed=1)
    assert shop.has_table("tag")
    shop.run(test_tags=tests).assert_outcomes(passed=1)  # without --reuse-db: dropped at the end
