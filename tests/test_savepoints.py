"""SQLAlchemy's savepoints on the pinned connection, sent to the driver directly or not.

The direct path replaces private methods of SQLAlchemy's Connection; each test
runs once on it and once with it forced off (SQLAlchemy's own path), and both
must behave the same for the app.
"""

import pytest

SAVEPOINTS = """
import os

import pytest
import sqlalchemy as sa
from flask_testbed import UncommittedChangesWarning
from shop import Item, db

DIRECT = os.environ["EXPECT_DIRECT"] == "1"


def test_requests_commit_roll_back_and_recover(client):
    assert client.post("/items", json={"name": "a"}).status_code == 201
    # The duplicate fails inside the request's savepoint, which is rolled back alone.
    assert client.post("/items", json={"name": "a"}).status_code == 409
    assert client.post("/items/nested", json={"keep": "b", "drop": "c"}).json == ["a", "b"]
    with pytest.warns(UncommittedChangesWarning):
        client.post("/items/forgetful", json={"name": "lost"})
    assert client.get("/items").json == ["a", "b"]
    assert db.session.query(Item).count() == 2


def test_the_rows_are_gone(client):
    assert client.get("/items").json == []


def test_savepoint_events_fire_and_the_path_is_the_expected_one(client):
    seen = []
    sent = []

    def note(name):
        return lambda *args: seen.append(name)

    def statement(conn, cursor, text, *args):
        sent.append(text.split()[0].upper())

    listeners = [(name, note(name)) for name in
                 ("savepoint", "release_savepoint", "rollback_savepoint")]
    listeners.append(("before_cursor_execute", statement))
    # On the Engine class: a connection made before a listener was added to its
    # engine may not see it (SQLAlchemy's rule), and the pinned one was.
    for name, listener in listeners:
        sa.event.listen(sa.engine.Engine, name, listener)
    try:
        assert client.post("/items", json={"name": "a"}).status_code == 201
        assert client.get("/items").json == ["a"]
    finally:
        for name, listener in listeners:
            sa.event.remove(sa.engine.Engine, name, listener)
    # POST: its savepoint, released by the commit; names() after the commit
    # opens a new one, rolled back at the end; GET: one more, rolled back.
    assert seen == ["savepoint", "release_savepoint", "savepoint", "rollback_savepoint",
                    "savepoint", "rollback_savepoint"], seen
    through_sqlalchemy = [word for word in sent if word in ("SAVEPOINT", "RELEASE", "ROLLBACK")]
    assert through_sqlalchemy == ([] if DIRECT else
                                  ["SAVEPOINT", "RELEASE", "SAVEPOINT", "ROLLBACK",
                                   "SAVEPOINT", "ROLLBACK"]), sent


def test_a_failing_savepoint_statement_is_sqlalchemys_error(client):
    connection = db.session.connection()
    # What DDL on MariaDB leaves behind (it commits and ends every savepoint):
    # the plugin tells that case apart from others by SQLAlchemy's error.
    with pytest.raises(sa.exc.DBAPIError, match="(?i)savepoint|does not exist"):
        connection._release_savepoint_impl("gone")
    db.session.rollback()
    assert client.post("/items", json={"name": "after"}).status_code == 201
    assert client.get("/items").json == ["after"]


def test_a_request_leaves_no_savepoint_behind_where_the_backend_releases_it(client):
    # PostgreSQL pays for every savepoint still open on each later statement:
    # a test of many requests would slow down request after request.
    rolled_back = []

    def note(conn, name, context):
        rolled_back.append(name)

    sa.event.listen(sa.engine.Engine, "rollback_savepoint", note)
    try:
        assert client.post("/items", json={"name": "a"}).status_code == 201
        assert client.get("/items").json == ["a"]
        assert client.get("/items").json == ["a"]
    finally:
        sa.event.remove(sa.engine.Engine, "rollback_savepoint", note)
    # The POST's second (see above), one per GET, each named by SQLAlchemy or the plugin.
    assert len(rolled_back) == 3 and all(rolled_back), rolled_back
    first_get = rolled_back[1]
    # The test's last statement: where the savepoint is kept, this RELEASE
    # ends the test session's savepoint too, which the test's end then skips.
    try:
        db.session.connection().exec_driver_sql(f"RELEASE SAVEPOINT {first_get}")
    except sa.exc.DBAPIError:
        kept = False
    else:
        kept = True
    # On either path: the direct one sends the RELEASE with the ROLLBACK TO,
    # SQLAlchemy's is followed by one.
    releases = db.engine.dialect.name in ("postgresql", "sqlite")
    assert kept is not releases, (first_get, kept)


def test_after_the_probe_the_rows_are_gone(client):
    assert client.get("/items").json == []


def test_a_failed_statement_of_the_test_does_not_fail_its_requests(client):
    assert client.post("/items", json={"name": "a"}).status_code == 201
    with pytest.raises(sa.exc.DBAPIError):
        db.session.connection().exec_driver_sql("SELECT * FROM no_such_table")
    # As on a connection of its own: the test's transaction, which had nothing
    # to keep, is ended before the request (on PostgreSQL it could not go on).
    assert client.get("/items").json == ["a"]
    assert client.post("/items", json={"name": "b"}).status_code == 201


def test_a_request_in_a_transaction_the_test_broke_fails_with_sqlalchemys_error(client):
    db.session.add(Item(name="mine"))
    db.session.flush()
    with pytest.raises(sa.exc.DBAPIError):
        db.session.connection().exec_driver_sql("SELECT * FROM no_such_table")
    if db.engine.dialect.name == "postgresql":
        # The test's unsaved row stays, so does the failure: the request's
        # savepoint fails at once, with SQLAlchemy's error, not later.
        with pytest.raises(sa.exc.DBAPIError, match="aborted"):
            client.get("/items")
    else:
        assert client.get("/items").json == ["mine"]
    db.session.rollback()
    assert client.get("/items").json == []
"""

FORCE_FALLBACK = """
import flask_testbed.isolation.savepoints as savepoints

savepoints._replaceable = lambda cls: False
"""


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "sqlalchemy"])
def test_savepoints_behave_the_same_on_either_path(shop, monkeypatch, direct):
    monkeypatch.setenv("EXPECT_DIRECT", "1" if direct else "0")
    files = {"test_savepoint_paths": SAVEPOINTS}
    if not direct:
        files["conftest"] = FORCE_FALLBACK
    result = shop.run_subprocess("-W", "error::sqlalchemy.exc.SAWarning", "--tb=short", **files)
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("errors", 0) == 0, result.stdout.str()
    assert outcomes["passed"] == 8, result.stdout.str()
