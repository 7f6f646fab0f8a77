"""The user's real data, before and after every kind of run: byte for byte the same.

An app whose own configuration names a development database (an SQLite file
``dev.db``, a server database ``latest_prod`` or ``contest``) that holds a
table of the same name as the model's, with a row. Runs under every strategy,
with ``--reuse-db``, under ``-n 2``, and a run killed mid-test followed by a
normal one: after each, the canary is as it was, and once a run without
``--reuse-db`` ended, nothing the runs made is left (databases, files, locks).
"""

import hashlib
import signal

import pytest
import sqlalchemy as sa
from conftest import APPS, create_database, own, server_url

from flask_testbed.database.servers import drop_database, on_server

SUITE = """
def test_writes(client):
    assert client.post("/items", json={"name": "written by a test"}).status_code == 201
    assert client.get("/items").json["items"] == 1

def test_starts_clean(client):
    assert client.get("/items").json == {"items": 0, "orders": 0}
"""

KILLED = """
import os, signal

def test_dies_after_committing(client):
    client.post("/items", json={"name": "orphan"})
    os.kill(os.getpid(), signal.SIGKILL)
"""


class Canary:
    """The user's database with its row, how to read it back whole, and what runs leave."""

    def __init__(self, pytester: pytest.Pytester, url: str, schema: str | None = None) -> None:
        self.pytester = pytester
        self.url = url
        self.schema = schema
        pytester.makepyfile(canary=(APPS / "canary.py").read_text())
        pytester.makeini("[pytest]\ntestbed_app = canary:create_app\n")
        pytester.syspathinsert()

    def run(self, *args: str, subprocess: bool = False, **files: str) -> pytest.RunResult:
        self.pytester.makepyfile(**(files or {"test_canary_suite": SUITE}))
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("CANARY_URL", self.url)
            if self.schema:
                mp.setenv("CANARY_SCHEMA", self.schema)
            if subprocess:
                return self.pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
            return self.pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly", *args)

    def runs(self) -> list[tuple[str, ...]]:
        return [
            ("--testbed-strategy=transaction",),
            ("--testbed-strategy=truncate",),
            ("--testbed-strategy=recreate",),
            ("--reuse-db",),
            ("--reuse-db", "--testbed-strategy=truncate"),
        ]

    def check_every_kind_of_run(self, state, leftovers) -> None:
        before = state()
        for args in self.runs():
            self.run(*args).assert_outcomes(passed=2)
            assert state() == before, args
        # A run without --reuse-db drops the database the reusing runs kept.
        self.run().assert_outcomes(passed=2)
        assert leftovers() == []
        self.run("-n", "2", subprocess=True).assert_outcomes(passed=2)
        assert state() == before
        assert leftovers() == []
        killed = self.run("--testbed-strategy=truncate", subprocess=True, test_canary_suite=KILLED)
        assert killed.ret == -signal.SIGKILL
        assert state() == before
        self.run().assert_outcomes(passed=2)
        assert state() == before
        assert leftovers() == []


def test_a_development_sqlite_file_is_never_touched(pytester):
    instance = pytester.path / "instance"
    instance.mkdir()
    dev = instance / "dev.db"
    engine = sa.create_engine(f"sqlite:///{dev}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)")
        connection.exec_driver_sql("INSERT INTO item (name) VALUES ('the user''s row')")
    engine.dispose()
    canary = Canary(pytester, "sqlite:///dev.db")  # relative: in the app's instance folder

    def state():
        return hashlib.sha256(dev.read_bytes()).hexdigest(), dev.stat().st_mtime_ns

    def leftovers():
        return sorted(path.name for path in instance.iterdir() if path != dev)

    canary.check_every_kind_of_run(state, leftovers)


def test_an_explicit_non_test_sqlite_file_is_refused(pytester, tmp_path):
    dev = tmp_path / "dev.db"
    canary = Canary(pytester, "sqlite://")
    result = canary.run(f"--testbed-db-url=sqlite:///{dev}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.lines + result.stderr.lines
    errors = [line for line in output if line.startswith("ERROR:")]
    assert len(errors) == 1, output
    assert "refusing to use" in errors[0] and "'dev.db' is not a test name" in errors[0]
    assert not dev.exists()
    assert list(tmp_path.iterdir()) == []


def _server_state(url: sa.URL):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            quote = connection.dialect.identifier_preparer.quote
            return {
                table: sorted(
                    tuple(row)
                    for row in connection.exec_driver_sql(f"SELECT * FROM {quote(table)}")
                )
                for table in sorted(inspector.get_table_names())
            }
    finally:
        engine.dispose()


def _databases_named_after(url: sa.URL) -> list[str]:
    admin, backend = on_server(url)
    try:
        with admin.connect() as connection:
            return sorted(
                name
                for name in backend.database_names(connection)
                if name.startswith(f"test_{url.database}")
            )
    finally:
        admin.dispose()


@pytest.fixture(params=["postgresql", "mariadb"])
def server(request):
    return sa.make_url(server_url(request.param))


@pytest.fixture(params=["latest_prod", "contest"])
def production(request, server):
    """A server database whose name merely contains the letters 'test', with the user's row."""
    url = server.set(database=own(request.param))
    create_database(url)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS item")
        connection.exec_driver_sql("CREATE TABLE item (id INTEGER PRIMARY KEY, name VARCHAR(50))")
        connection.exec_driver_sql("INSERT INTO item (id, name) VALUES (7, 'the user''s row')")
    engine.dispose()
    yield url
    drop_database(url)
    for name in _databases_named_after(url):
        drop_database(url.set(database=name))


def test_a_server_database_that_only_contains_the_letters_test_is_never_touched(
    pytester, production
):
    canary = Canary(pytester, production.render_as_string(hide_password=False))
    canary.check_every_kind_of_run(
        lambda: _server_state(production), lambda: _databases_named_after(production)
    )


@pytest.fixture
def shop_schema(server):
    """On MariaDB: the production database ``shop``, which a model names as its schema."""
    if server.get_backend_name() != "mysql":
        pytest.skip("on PostgreSQL a schema lives inside the test database")
    url = server.set(database=own("shop"))
    create_database(url)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS `order`")
        connection.exec_driver_sql(
            "CREATE TABLE `order` (id INTEGER PRIMARY KEY, item_name VARCHAR(50))"
        )
        connection.exec_driver_sql("INSERT INTO `order` VALUES (3, 'the user''s order')")
    engine.dispose()
    yield url
    drop_database(url)
    for name in _databases_named_after(url):
        drop_database(url.set(database=name))


def test_a_mariadb_schema_a_model_names_is_never_touched(pytester, production, shop_schema):
    """``__table_args__ = {"schema": "shop"}``: the tables go to a test twin, test_shop."""
    canary = Canary(
        pytester, production.render_as_string(hide_password=False), schema=shop_schema.database
    )

    def state():
        return _server_state(production), _server_state(shop_schema)

    def leftovers():
        return _databases_named_after(production) + _databases_named_after(shop_schema)

    canary.check_every_kind_of_run(state, leftovers)
