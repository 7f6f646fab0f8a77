"""Models in another schema (``__table_args__ = {"schema": ...}``) stay inside test databases."""

import pytest
import sqlalchemy as sa
from conftest import APPS, server_url

SUITE = """
from canary import db

def test_writes_both(client):
    assert client.post("/items", json={"name": "a"}).status_code == 201
    assert client.get("/items").json == {"items": 1, "orders": 1}

def test_starts_clean(client):
    assert client.get("/items").json == {"items": 0, "orders": 0}
"""


def _run(pytester, url, schema, *args, suite=SUITE):
    pytester.makepyfile(canary=(APPS / "canary.py").read_text(), test_schema_suite=suite)
    pytester.makeini("[pytest]\ntestbed_app = canary:create_app\n")
    pytester.syspathinsert()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CANARY_URL", url)
        mp.setenv("CANARY_SCHEMA", schema)
        return pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly", *args)


def _schemas(url):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return set(sa.inspect(connection).get_schema_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize("strategy", ["transaction", "truncate", "recreate"])
def test_postgresql_creates_the_schema_inside_the_test_database_and_drops_it(
    pytester, strategy
):
    url = server_url("postgresql")
    assert "shop" not in _schemas(url)
    result = _run(pytester, url, "shop", f"--testbed-strategy={strategy}")
    result.assert_outcomes(passed=2)
    assert "shop" not in _schemas(url)


def test_postgresql_leaves_a_schema_it_did_not_create(pytester):
    url = server_url("postgresql")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS users_own")
    try:
        _run(pytester, url, "users_own").assert_outcomes(passed=2)
        assert "users_own" in _schemas(url)
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA IF EXISTS users_own CASCADE")
        engine.dispose()


def test_sqlite_keeps_the_schema_s_tables_in_the_test_file(pytester, tmp_path):
    url = f"sqlite:///{tmp_path / 'shop-test.db'}"
    _run(pytester, url, "shop").assert_outcomes(passed=2)


def test_sqlite_refuses_two_tables_that_would_be_one(pytester, tmp_path):
    url = f"sqlite:///{tmp_path / 'shop-test.db'}"
    # The canary app's Order lives in schema "shop"; a plain table of the same name clashes.
    pytester.makepyfile(
        conftest="import canary\n"
        "class Clash(canary.db.Model):\n"
        "    __tablename__ = 'order'\n"
        "    id = canary.db.Column(canary.db.Integer, primary_key=True)\n"
    )
    result = _run(pytester, url, "shop")
    output = result.stdout.lines + result.stderr.lines
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    errors = [line for line in output if line.startswith("ERROR:")]
    assert len(errors) == 1, output
    assert "shop.order and order would be one table" in errors[0]


@pytest.mark.parametrize(
    "backend, schema", [("postgresql", "pg_catalog"), ("mariadb", "mysql"),
                        ("mariadb", "information_schema")]
)
def test_a_schema_that_cannot_be_mapped_is_refused_before_any_ddl(pytester, backend, schema):
    url = server_url(backend)
    result = _run(pytester, url, schema)
    output = result.stdout.lines + result.stderr.lines
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    errors = [line for line in output if line.startswith("ERROR:")]
    assert len(errors) == 1, output
    assert f"refusing to create the tables of schema {schema!r}" in errors[0]
    assert "it is the server's own" in errors[0]
    engine = sa.create_engine(url)
    try:
        assert not sa.inspect(engine).has_table("item")  # no DDL ran
    finally:
        engine.dispose()
