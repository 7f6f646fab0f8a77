"""The fast paths (private APIs of SQLAlchemy, the drivers and pytest), each with its public path.

Each fast path is detected once at start-up; ``TESTBED_FASTPATHS_OFF`` forces
its public path, which must keep the app's tests passing the same way.
``pytest --testbed-info`` and the ``-v`` header say which are on.
"""

import pytest

from flask_testbed import fastpaths

WORKLOAD = """
import os

import pytest
import sqlalchemy as sa
from flask_testbed import fastpaths, wider
from flask_testbed.database import dialects, secrets
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
    backend = dialects.backend_for(db.engine)
    reply = backend.send_script(dbapi, ["SELECT 1"])
    if reply is not None:
        reply()
    pipelined = {"postgresql": "psycopg-pipelined-rollback",
                 "mysql": "pymysql-pipelined-rollback"}.get(db.engine.dialect.name)
    if pipelined is not None and not fastpaths.enabled(pipelined):
        assert reply is None
    if db.engine.dialect.name == "mysql":
        found = dialects._pymysql_socket(dbapi)
        assert (found is None) is (not fastpaths.enabled("pymysql-fork-socket"))
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
    result.assert_outcomes(passed=5)


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


def test_the_lite_detector_names_what_is_missing(monkeypatch):
    from flask_sqlalchemy_lite import _extension

    from flask_testbed.integrations.lite import keeps_private_state

    assert keeps_private_state() is None
    monkeypatch.delattr(_extension, "_close_sessions")
    monkeypatch.setattr(_extension.SQLAlchemy, "__init__", lambda self: None)
    assert keeps_private_state() == (
        "Flask-SQLAlchemy-Lite has no SQLAlchemy._app_state/_engine_options, "
        "no _close_sessions of g._sqlalchemy_sessions"
    )
