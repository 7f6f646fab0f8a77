"""The fast paths (private APIs of SQLAlchemy, the drivers and pytest), each with its public path.

Each fast path is detected once at start-up; ``TESTBED_FASTPATHS_OFF`` forces
its public path, which must keep the app's tests passing the same way.
``pytest --testbed-info`` and the ``-v`` header say which are on.
"""

import pytest
import sqlalchemy as sa
from conftest import one_error_line

from flask_testbed import fastpaths

WORKLOAD = """
import os

import pytest
import sqlalchemy as sa
from flask_testbed import fastpaths, wider
from flask_testbed.database import backends, secrets
from flask_testbed.database.backends.mysql import _pymysql_socket
from shop import Item, db, names

OFF = os.environ["TESTBED_FASTPATHS_OFF"]


def test_0_the_path_is_off():
    for name in fastpaths.NAMES:
        if OFF in ("all", name):
            assert not fastpaths.enabled(name), name


@pytest.fixture(scope="module")
def shelf(db):
    db.session.add(Item(name="shelf"))
    db.session.commit()


def test_1_requests_commit_roll_back_and_recover(client, shelf):
    assert client.post("/items", json={"name": "a"}).status_code == 201
    assert client.post("/items", json={"name": "a"}).status_code == 409
    assert client.post("/items/nested", json={"keep": "b", "drop": "c"}).status_code == 200
    assert client.post("/items/raw", json={"name": "r"}).status_code == 200
    assert client.post("/items/threaded", json={"name": "t"}).status_code == 200
    with db.engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM item")) == 6
        assert connection.execute(sa.text("SELECT name FROM item WHERE name = 'a'")).scalar()
    assert names() == ["a", "b", "r", "r-2", "shelf", "t"]


def test_2_the_module_s_rows_stay_the_test_s_are_gone(client, shelf):
    assert names() == ["shelf"]


def test_3_the_path_taken(request, client):
    connection = db.session.connection()
    hooked = set(vars(connection)) & {"_execute_context", "execute", "exec_driver_sql", "scalar"}
    lock_on = fastpaths.enabled("statement-lock")
    assert hooked == ({"_execute_context"} if lock_on else {"execute", "exec_driver_sql", "scalar"})
    assert (wider.definitions_of(request.node) is None) is (
        not fastpaths.enabled("pytest-fixture-definitions")
    )
    original = sa.engine.url._parse_url
    with secrets.checked_parsing():
        wrapped = sa.engine.url._parse_url is not original
    assert wrapped is fastpaths.enabled("sqlalchemy-url-check")
    dbapi = connection.connection.dbapi_connection
    backend = backends.backend_for(db.engine)
    reply = backend.send_script(dbapi, ["SELECT 1"])
    if reply is not None:
        reply()
    pipelined = {"postgresql": "psycopg-pipelined-rollback",
                 "mysql": "pymysql-pipelined-rollback"}.get(db.engine.dialect.name)
    if pipelined is not None and not fastpaths.enabled(pipelined):
        assert reply is None
    if db.engine.dialect.name == "mysql":
        found = _pymysql_socket(dbapi)
        assert (found is None) is (not fastpaths.enabled("pymysql-fork-socket"))


ROLLED_BACK_TO = []


def test_4_leaves_a_savepoint_of_its_session_open(db_session):
    db_session.begin_nested()
    sa.event.listen(
        db_session.connection(), "rollback_savepoint", lambda *args: ROLLED_BACK_TO.append(args[1])
    )
    db_session.add(Item(name="in a savepoint"))
    db_session.flush()


def test_5_its_end_took_the_savepoint_in_one_statement_or_one_each(client):
    # The fast path sends the test's ROLLBACK TO only; the public one the session's first.
    one_statement = fastpaths.enabled("sqlalchemy-savepoint-bookkeeping")
    assert (ROLLED_BACK_TO == []) is one_statement, ROLLED_BACK_TO
    assert names() == ["shelf"]  # the module's row, not the savepoint's
"""

AFTER = """
from shop import names


def test_nothing_is_left(client):
    assert names() == []
"""

#: the fast paths that matter on each backend (the others are detected all the same)
ON_BACKEND = {
    "psycopg-pipelined-rollback": {"postgresql"},
    "pymysql-pipelined-rollback": {"mariadb"},
    "pymysql-fork-socket": {"mariadb"},
}
#: the fast paths the shop (a Flask-SQLAlchemy app) never takes, and where they are forced off
ELSEWHERE = {
    "flask-sqlalchemy-lite-state": "used by Flask-SQLAlchemy-Lite apps only; "
    "tests/test_integrations.py forces it off",
}


@pytest.mark.parametrize("off", [*sorted(fastpaths.NAMES), "all"])
def test_with_a_fast_path_forced_off_the_tests_pass_on_its_public_path(
    shop, backend, monkeypatch, off
):
    if off in ELSEWHERE:
        pytest.skip(ELSEWHERE[off])
    if backend not in ON_BACKEND.get(off, {backend}):
        pytest.skip(f"{off} is used on {', '.join(sorted(ON_BACKEND[off]))} only")
    monkeypatch.setenv(fastpaths.OFF_VARIABLE, off)
    result = shop.run_subprocess(
        "-W", "error::sqlalchemy.exc.SAWarning", "--tb=short", timeout=300,
        test_a_workload=WORKLOAD, test_b_after=AFTER,
    )
    result.assert_outcomes(passed=7)


def test_testbed_info_prints_the_versions_and_the_fast_paths(pytester):
    result = pytester.runpytest_subprocess("--testbed-info")
    assert result.ret == 0
    text = result.stdout.str()
    for distribution in fastpaths.DISTRIBUTIONS:
        assert f"\n{distribution} {fastpaths.version_of(distribution)}\n" in text, distribution
    assert text.startswith("Python 3.")
    for name in fastpaths.NAMES:
        assert f"  {name}: on\n" in text, text
    assert "test session starts" not in text  # it exits like --version


def test_testbed_info_says_why_a_path_is_off(pytester, monkeypatch):
    monkeypatch.setenv(fastpaths.OFF_VARIABLE, "direct-savepoints")
    # A detector that finds its API missing, as on a SQLAlchemy without it.
    pytester.makeconftest(
        "from flask_testbed.isolation import pinning\n"
        "pinning.hooks_execute_context = lambda: False\n"
    )
    result = pytester.runpytest_subprocess("--testbed-info")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "  statement-lock: off (SQLAlchemy's Connection has no _execute_context)",
            "  direct-savepoints: off (turned off by TESTBED_FASTPATHS_OFF)",
            "  psycopg-pipelined-rollback: on",
        ]
    )


def test_the_verbose_header_names_the_fast_paths(pytester, monkeypatch):
    monkeypatch.setenv(fastpaths.OFF_VARIABLE, "sqlalchemy-url-check")
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest_subprocess("-v", "-p", "no:randomly")
    result.stdout.fnmatch_lines(
        [
            "flask-testbed *: fast paths on: statement-lock, direct-savepoints, *; "
            "off: sqlalchemy-url-check (pytest --testbed-info says why)"
        ]
    )
    quiet = pytester.runpytest_subprocess("-p", "no:randomly")
    assert "fast paths on" not in quiet.stdout.str()


def test_a_detector_that_fails_leaves_its_path_off_and_the_run_going(monkeypatch):
    def broken() -> str | None:
        raise RuntimeError("surprise")

    before = fastpaths.current()
    path = fastpaths.REGISTRY[0]
    monkeypatch.setattr(
        fastpaths, "REGISTRY", (fastpaths.FastPath(path.name, path.gives, path.needs, broken),)
    )
    try:
        assert fastpaths.evaluate() == {path.name: "detection failed: RuntimeError: surprise"}
    finally:
        fastpaths.restore(before)


EARLY_APP = """
from shop import create_app

# Built when pytest imports this conftest, before the plugin sees the app: its
# engines exist already, on the database its config names.
app = create_app()
"""

MOVED = """
from flask_testbed import fastpaths
from shop import db, names


def test_1_writes_on_the_test_database(client):
    assert db.engine.url.database.endswith(("test_moved", "test_moved.db"))
    assert client.post("/items", json={"name": "a"}).status_code == 201
    assert names() == ["a"]


def test_2_sees_none_of_it(client):
    assert names() == []
    # One teardown of the extension's, as before: the public path put them back.
    funcs = client.application.teardown_appcontext_funcs
    teardowns = [f for f in funcs if getattr(f, "__self__", None) is db]
    assert len(teardowns) == 1
    assert fastpaths.enabled("flask-sqlalchemy-engine-rebuild") is (FAST == "on")
"""


@pytest.mark.parametrize("fast", ["on", "off"])
def test_an_app_built_before_the_run_moves_to_the_test_database_on_either_path(
    shop, backend, monkeypatch, tmp_path, fast
):
    if fast == "off":
        monkeypatch.setenv(fastpaths.OFF_VARIABLE, "flask-sqlalchemy-engine-rebuild")
    moved = sa.make_url(shop.database_url)
    if backend == "sqlite":
        moved = moved.set(database=str(tmp_path / "test_moved.db"))
    else:
        moved = moved.set(database=f"{moved.database}_test_moved")
    shop.pytester.makeconftest(EARLY_APP)
    shop.pytester.makeini("[pytest]\ntestbed_app = conftest:app\n")
    shop.database_url = moved.render_as_string(hide_password=False)
    result = shop.run(test_moved=f"FAST = {fast!r}\n" + MOVED)
    result.assert_outcomes(passed=2)


def test_on_the_public_path_an_app_that_served_a_request_already_is_one_line(
    shop, monkeypatch
):
    monkeypatch.setenv(fastpaths.OFF_VARIABLE, "flask-sqlalchemy-engine-rebuild")
    shop.pytester.makeconftest(EARLY_APP + 'app.test_client().get("/nowhere")\n')
    shop.pytester.makeini("[pytest]\ntestbed_app = conftest:app\n")
    result = shop.run(test_never="def test_never_runs(client):\n    pass\n")
    assert one_error_line(result) == (
        "ERROR: the app 'shop' served a request before the plugin could point its "
        "Flask-SQLAlchemy engines at the test databases, and Flask refuses to set it up "
        "again: build it in the factory testbed_app names or in the session-scoped app fixture "
        "itself, and send it no request before the tests do"
    )


def test_the_lite_detector_names_what_is_missing(monkeypatch):
    from flask_sqlalchemy_lite import _extension

    from flask_testbed.integrations.lite import keeps_private_state

    assert keeps_private_state() is None
    monkeypatch.delattr(_extension, "_close_sessions")
    monkeypatch.setattr(_extension.SQLAlchemy, "__init__", lambda self: None)
    assert keeps_private_state() == (
        "Flask-SQLAlchemy-Lite has no SQLAlchemy._app_state/_engine_options, "
        "no _close_sessions closing g._sqlalchemy_sessions"
    )
