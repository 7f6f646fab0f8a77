"""A test that commits for real under ``transaction``: it is named, and the run heals.

On MariaDB/MySQL DDL commits: ``db.drop_all()`` / ``create_all()`` in a test
end the outer transaction and may leave the schema without its tables. The
test errors with one line, the schema is restored as the run built it, and
every later test runs clean. PostgreSQL and SQLite roll DDL back with the
test: the same tests pass there and leave nothing behind.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import one_error_line

DDL_COMMITS = "*the database ended the test transaction on mysql+pymysql://*something " \
    "committed for real, e.g. DDL*@pytest.mark.testbed(strategy='truncate') or 'recreate'"


def test_a_test_that_rebuilds_the_schema_leaves_later_tests_clean(shop, backend):
    result = shop.run(
        test_rebuild="""
from shop import AuditEntry, db, names

def test_1_rebuilds_the_schema(client):
    client.post("/items", json={"name": "before"})
    db.drop_all()
    db.create_all()
    assert names() == []

def test_2_starts_clean(client):
    assert names() == []
    assert client.post("/items", json={"name": "after"}).status_code == 201
    assert client.post("/audit", json={"message": "after"}).json == {"count": 1}

def test_3_starts_clean(client):
    assert names() == []
    assert db.session.query(AuditEntry).count() == 0
"""
    )
    if backend == "mariadb":
        # The test's own calls succeed as without the plugin; its end reports the commit.
        result.assert_outcomes(passed=3, errors=1)
        result.stdout.fnmatch_lines(["*ERROR at teardown of test_1_rebuilds_the_schema*",
                                     DDL_COMMITS])
        assert "IndexError" not in result.stdout.str()
    else:
        result.assert_outcomes(passed=3)
    assert shop.count("item") == 0
    assert shop.count("audit_entry", shop.env["SHOP_AUDIT_URL"]) == 0


def test_tables_a_test_dropped_come_back_and_only_the_runs_own_extra_tables_go(shop, backend):
    """The heal makes the models' tables that are gone again and drops the tables the
    test made; a table the user made before the run is left as it is."""
    engine = sa.create_engine(shop.database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS users_lookup")
        connection.exec_driver_sql("DROP TABLE IF EXISTS made_by_test")
        connection.exec_driver_sql("CREATE TABLE users_lookup (code VARCHAR(10))")
        connection.exec_driver_sql("INSERT INTO users_lookup VALUES ('kept')")
    try:
        result = shop.run(
            test_drop="""
import pytest
import sqlalchemy as sa
from conftest import one_error_line
from shop import db, names

def test_1_drops_the_tables_and_makes_one(client):
    client.post("/items", json={"name": "before"})
    db.drop_all()
    with db.engine.connect() as connection:
        connection.execute(sa.text("CREATE TABLE made_by_test (id INTEGER)"))
        connection.commit()

def test_2_has_its_tables(client):
    assert client.post("/items", json={"name": "after"}).status_code == 201
    assert names() == ["after"]

def test_3_starts_clean(client):
    assert names() == []
    assert not sa.inspect(db.engine).has_table("made_by_test")
"""
        )
        if backend == "mariadb":
            result.assert_outcomes(passed=3, errors=1)
            result.stdout.fnmatch_lines(
                ["*ERROR at teardown of test_1_drops_the_tables_and_makes_one*", DDL_COMMITS]
            )
        else:
            result.assert_outcomes(passed=3)
        assert not shop.has_table("made_by_test")
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT code FROM users_lookup").scalars().all()
        assert rows == ["kept"]
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS users_lookup")
            connection.exec_driver_sql("DROP TABLE IF EXISTS made_by_test")
        engine.dispose()


# What the plugin's own maintenance sets on a connection, per backend, and its fixes.
SESSION_SETTINGS = {
    "sqlite": "SELECT * FROM pragma_defer_foreign_keys, pragma_foreign_keys",
    "postgresql": "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')",
    "mariadb": "SELECT @@SESSION.lock_wait_timeout, @@SESSION.innodb_lock_wait_timeout, "
    "@@SESSION.foreign_key_checks",
}


@pytest.mark.parametrize("strategy", ["transaction", "truncate"])
def test_the_plugins_session_settings_never_reach_the_apps_connections(shop, backend, strategy):
    """The plugin's DDL and cleanup limit their lock waits (and turn foreign-key checks
    off on MariaDB) on a pooled connection; the app's connections in the tests that
    follow read what a fresh connection to the server reads."""
    result = shop.run(
        f"--testbed-strategy={strategy}",
        test_settings=f"""
import pytest
import sqlalchemy as sa
from conftest import one_error_line
from shop import db

QUERY = {SESSION_SETTINGS[backend]!r}

def fresh():
    engine = sa.create_engine(db.engine.url.render_as_string(hide_password=False))
    try:
        with engine.connect() as connection:
            return tuple(connection.exec_driver_sql(QUERY).one())
    finally:
        engine.dispose()

def test_1_after_the_schema_build(client):
    assert tuple(db.session.execute(sa.text(QUERY)).one()) == fresh()
    assert client.post("/items", json={{"name": "written"}}).status_code == 201

def test_2_after_a_cleanup(client):
    assert tuple(db.session.execute(sa.text(QUERY)).one()) == fresh()
    with db.engine.connect() as connection:
        assert tuple(connection.exec_driver_sql(QUERY).one()) == fresh()
""",
    )
    result.assert_outcomes(passed=2)


STREAM_LEFT_OPEN = """
import sqlalchemy as sa
from conftest import one_error_line
from shop import Item, db

def test_1_fails_in_the_middle_of_a_stream(client):
    for i in range(30):
        client.post("/items", json={"name": f"item-{i}"})
    rows = db.session.execute(sa.select(Item).execution_options(yield_per=10))
    first = next(iter(rows))
    assert first is None, "fails with the stream half read"

def test_2_innocent(client):
    assert client.get("/items").json == []
"""


@pytest.mark.parametrize("memory", [False, True], ids=["file", "memory"])
def test_a_stream_a_failing_test_left_open_does_not_break_the_end_of_the_run(
    shop, backend, memory
):
    """The failing test's traceback keeps its half-read ``yield_per`` result alive: the
    run still drops its tables at the end, and the last test is not blamed."""
    if memory and backend != "sqlite":
        pytest.skip("in-memory databases are SQLite's")
    if memory:
        shop.database_url = "sqlite://"
    result = shop.run(test_stream=STREAM_LEFT_OPEN)
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    if not memory:
        assert not shop.has_table("item")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_failure_of_the_runs_own_cleanup_is_the_runs_error(shop):
    """Whatever ends the run's cleanup (here a driver error forced into the drop) is
    reported once, after the tests, as the run's error: not as the last test's. In a
    process of its own: the forced error must not outlive the run."""
    result = shop.run_subprocess(
        test_fine="""
def test_1(client):
    pass

def test_2_last(client):
    pass
""",
        conftest="""
import sqlite3
import flask_testbed.harness

def broken_drop(*args, **kwargs):
    raise sqlite3.OperationalError("database table is locked")

flask_testbed.harness.drop_schema = broken_drop
""",
    )
    result.assert_outcomes(passed=2)
    line = one_error_line(result)
    assert line == (
        "ERROR: the run's cleanup after its last test failed (OperationalError: database "
        "table is locked); its test databases may keep tables of this run, which the next "
        "run drops before its first test"
    )
