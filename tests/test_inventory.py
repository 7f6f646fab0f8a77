"""Only what the run made is dropped: the tests' own tables and views go, a user's stay."""

import pytest
import sqlalchemy as sa
from conftest import one_error_line

from flask_testbed.database.urls import masked

MADE = ("made_view", "made_table", "made_by_recreate_view", "made_by_recreate_table")
#: everything these tests make, dropped around each of them (the server databases are shared)
NAMES = (*MADE, "made_ledger_ids", "built_item_names", "item_report", "ledger_memos", "ledger")
MODEL_TABLES = ("tag", "item_history", "audit_entry", "item")

MAKES_THINGS = """
import pytest
import sqlalchemy as sa
from shop import db

def made():
    inspector = sa.inspect(db.engine)
    names = set(inspector.get_table_names()) | set(inspector.get_view_names())
    return {name for name in names if name.startswith("made_")}

@pytest.mark.testbed(strategy="recreate")
def test_1_recreate_makes_a_view_on_a_model_table_and_a_table(client):
    assert client.post("/items", json={"name": "a"}).status_code == 201
    with db.engine.begin() as connection:
        connection.exec_driver_sql("CREATE VIEW made_by_recreate_view AS SELECT name FROM item")
        connection.exec_driver_sql("CREATE TABLE made_by_recreate_table (id INTEGER PRIMARY KEY)")

@pytest.mark.testbed(strategy="recreate")
def test_2_the_recreate_dropped_them(client):
    assert made() == set()
    assert client.get("/items").json == []

@pytest.mark.testbed(strategy="truncate")
def test_3_truncate_makes_them_too_and_the_end_of_the_run_drops_them(client):
    assert client.post("/items", json={"name": "b"}).status_code == 201
    with db.engine.begin() as connection:
        connection.exec_driver_sql("CREATE VIEW made_view AS SELECT name FROM item")
        connection.exec_driver_sql("CREATE TABLE made_table (id INTEGER PRIMARY KEY)")
"""

USES_THE_LEDGER = """
import pytest
from shop import db

@pytest.mark.testbed(strategy="recreate")
def test_1_recreate_makes_a_table(client):
    with db.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE made_table (id INTEGER PRIMARY KEY)")

@pytest.mark.testbed(strategy="recreate")
def test_2_the_users_table_and_view_outlived_the_recreate(client):
    with db.engine.connect() as connection:
        memos = connection.exec_driver_sql("SELECT memo FROM ledger_memos ORDER BY memo")
        assert memos.scalars().all() == ["it's kept", "opening"]

@pytest.mark.testbed(strategy="truncate")
def test_3_truncate_makes_a_view_on_the_users_table(client):
    with db.engine.begin() as connection:
        connection.exec_driver_sql("CREATE VIEW made_ledger_ids AS SELECT id FROM ledger")
"""

SIMPLE_TEST = "def test_uses_db(client):\n    assert client.get('/items').json == []\n"


def _execute(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


def _relations(url: str) -> set[str]:
    """The tables and views of the database's default schema, as a fresh connection sees them."""
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        names = set(inspector.get_table_names()) | set(inspector.get_view_names())
        if engine.dialect.name == "postgresql":
            names |= set(inspector.get_materialized_view_names())
        return names
    finally:
        engine.dispose()


def _snapshot(url: str) -> tuple:
    """The user's table (columns and rows) and view (its definition), as they are now."""
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        columns = [
            (column["name"], str(column["type"]), column["nullable"])
            for column in inspector.get_columns("ledger")
        ]
        view = inspector.get_view_definition("ledger_memos")
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT id, memo FROM ledger ORDER BY id").all()
        return columns, [tuple(row) for row in rows], view
    finally:
        engine.dispose()


@pytest.fixture(autouse=True)
def _nothing_left(request, backend, database_url):
    """Each test starts and ends without the objects these tests make."""

    def clean():
        if backend == "sqlite":
            return  # a file of the test's own
        cascade = " CASCADE" if backend == "postgresql" else ""
        statements = [f"DROP SCHEMA IF EXISTS side{cascade}"] if backend == "postgresql" else []
        for name in NAMES:
            kind = "TABLE" if name in ("made_table", "made_by_recreate_table", "ledger") else "VIEW"
            statements.append(f"DROP {kind} IF EXISTS {name}{cascade}")
        statements += [f"DROP TABLE IF EXISTS {name}{cascade}" for name in MODEL_TABLES]
        statements.append("DROP TABLE IF EXISTS testbed_schema_objects")
        _execute(database_url, *statements)

    clean()
    yield
    clean()


def test_what_the_tests_made_is_gone_after_the_run_and_the_next_run_passes(shop):
    result = shop.run(test_makes=MAKES_THINGS)
    result.assert_outcomes(passed=3)
    assert _relations(shop.database_url) & {*MADE, *MODEL_TABLES} == set()
    # The same CREATEs again: they would fail on anything left over.
    shop.run(test_makes=MAKES_THINGS).assert_outcomes(passed=3)
    assert _relations(shop.database_url) & {*MADE, *MODEL_TABLES} == set()


def test_under_reuse_db_what_the_tests_made_goes_and_the_schema_stays(shop):
    for _run in range(2):
        shop.run("--reuse-db", test_makes=MAKES_THINGS).assert_outcomes(passed=3)
        left = _relations(shop.database_url)
        assert left & set(MADE) == set()
        # On SQLite the audit bind has a file of its own.
        assert set(MODEL_TABLES) - {"audit_entry"} <= left


def test_a_users_table_and_view_are_left_as_they_were(shop):
    _execute(
        shop.database_url,
        "CREATE TABLE ledger (id INTEGER PRIMARY KEY, memo VARCHAR(20) NOT NULL)",
        "INSERT INTO ledger (id, memo) VALUES (1, 'opening'), (2, 'it''s kept')",
        "CREATE VIEW ledger_memos AS SELECT memo FROM ledger WHERE id > 0",
    )
    before = _snapshot(shop.database_url)
    for _run in range(2):
        shop.run(test_users=USES_THE_LEDGER).assert_outcomes(passed=3)
        assert _snapshot(shop.database_url) == before
        left = _relations(shop.database_url)
        assert {"ledger", "ledger_memos"} <= left
        assert left & {"made_ledger_ids", "made_table", *MODEL_TABLES} == set()


BUILT_VIEW = """
from sqlalchemy import DDL, event
from shop import db

view = DDL("CREATE VIEW built_item_names AS SELECT name FROM item")
event.listen(db.metadata, "after_create", view)
"""

USES_THE_BUILT_VIEW = """
import pytest
from sqlalchemy import text

def test_1_the_view_the_schema_build_made_is_there(client):
    assert client.post("/items", json={"name": "a"}).status_code == 201
    assert client.get("/items").json == ["a"]

@pytest.mark.testbed(strategy="recreate")
def test_2_recreate_writes(client):
    assert client.post("/items", json={"name": "b"}).status_code == 201

@pytest.mark.testbed(strategy="recreate")
def test_3_the_recreate_built_it_again(db_session):
    assert db_session.execute(text("SELECT COUNT(*) FROM built_item_names")).scalar() == 0
"""


def test_what_the_schema_build_made_stays_with_the_schema(shop):
    """A view a DDL event (or a migration) makes is the schema's: --reuse-db keeps it."""
    shop.pytester.makeconftest(BUILT_VIEW)
    for _run in range(2):
        shop.run("--reuse-db", test_built=USES_THE_BUILT_VIEW).assert_outcomes(passed=3)
        assert {"built_item_names", "item"} <= _relations(shop.database_url)
    shop.run(test_built=USES_THE_BUILT_VIEW).assert_outcomes(passed=3)
    left = _relations(shop.database_url)
    assert left & {"built_item_names", "testbed_schema_objects", *MODEL_TABLES} == set()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_users_view_on_a_model_table_stops_the_run_in_one_line(shop):
    _execute(
        shop.database_url,
        "CREATE TABLE item (id SERIAL PRIMARY KEY, name VARCHAR(50) NOT NULL UNIQUE)",
        "CREATE TABLE tag (id SERIAL PRIMARY KEY, item_id INTEGER NOT NULL REFERENCES item (id), "
        "label VARCHAR(50) NOT NULL)",
        "CREATE VIEW item_report AS SELECT name FROM item",
    )
    result = shop.run(test_simple=SIMPLE_TEST)
    line = one_error_line(result)
    assert line == (
        f"ERROR: view public.item_report blocks the drop of table item in "
        f"{masked(shop.database_url)}: this run did not create it, so it leaves it alone; "
        "drop it (DROP VIEW public.item_report), or point the app at a database of its own "
        "(--testbed-db-url)"
    )
    result.assert_outcomes()  # stopped before the first test
    # Nothing of it was dropped: not the view, not the model tables it stands on.
    assert {"item_report", "item", "tag"} <= _relations(shop.database_url)


MAKES_A_VIEW_ELSEWHERE = """
import pytest
from shop import db

@pytest.mark.testbed(strategy="truncate")
def test_makes_a_view_in_a_schema_no_model_uses(client):
    with db.engine.begin() as connection:
        connection.exec_driver_sql("CREATE SCHEMA side")
        connection.exec_driver_sql("CREATE VIEW side.item_names AS SELECT name FROM item")
"""


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_drop_blocked_at_the_end_is_the_runs_error_not_a_tests(shop):
    result = shop.run(test_elsewhere=MAKES_A_VIEW_ELSEWHERE)
    line = one_error_line(result)
    assert line.startswith(
        f"ERROR: view side.item_names blocks the drop of table item in "
        f"{masked(shop.database_url)}: it is not a table or view this run made in the "
        "models' schemas, so the run leaves it alone; drop it (DROP VIEW side.item_names)"
    )
    result.assert_outcomes(passed=1)
    assert "at teardown" not in result.stdout.str()
