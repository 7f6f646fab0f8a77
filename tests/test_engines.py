"""One rule for every engine: whatever reaches a test database joins the test's sandbox."""

import pytest
import sqlalchemy as sa
from conftest import exists, own

SECOND_APP = """
import pytest
from shop import Item, create_app, db, names

@pytest.fixture
def second():
    # The factory pattern: an app of the test's own, from the configured factory.
    return create_app()

def test_1_a_second_app_writes_into_the_sandbox(client, second, app):
    assert second.config["SQLALCHEMY_DATABASE_URI"] == app.config["SQLALCHEMY_DATABASE_URI"]
    with second.app_context():
        db.session.add(Item(name="second"))
        db.session.commit()
    assert client.get("/items").json == ["second"]
    second_client = second.test_client()
    assert second_client.post("/items", json={"name": "third"}).status_code == 201
    assert names() == ["second", "third"]

def test_2_starts_clean(client, second):
    assert client.get("/items").json == []
    with second.app_context():
        assert Item.query.count() == 0

def test_3_without_database_access_is_refused():
    other = create_app()
    with other.app_context(), pytest.raises(Exception, match="reached the database"):
        Item.query.count()
"""


@pytest.fixture
def configured_url(backend, database_url, tmp_path):
    """A non-test database name in the app's own config: the plugin must never open it."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'shop.db'}"
    return sa.make_url(database_url).set(database=own("shop_later")).render_as_string(
        hide_password=False
    )


@pytest.mark.parametrize("strategy", ["transaction", "truncate"])
def test_an_app_built_during_the_run_gets_the_run_s_test_databases(
    shop, configured_url, strategy
):
    shop.database_url = None
    shop.env["SHOP_DATABASE_URL"] = configured_url
    shop.env["SHOP_AUDIT_URL"] = configured_url
    result = shop.run(
        f"--testbed-strategy={strategy}", "--testbed-check-leaks", test_second=SECOND_APP
    )
    result.assert_outcomes(passed=3)
    assert not exists(sa.make_url(configured_url))


def test_an_app_on_a_database_that_is_not_the_run_s_is_refused(shop, backend, tmp_path):
    result = shop.run(
        test_other=f"""
import pytest
from flask_testbed import TestbedError
from shop import create_app

def test_other_database(db_session, monkeypatch):
    monkeypatch.setenv("SHOP_AUDIT_URL", "sqlite:///{tmp_path / 'other.db'}")
    with pytest.raises(TestbedError) as refused:
        create_app()
    message = str(refused.value)
    assert message.startswith("an app built during the run ('shop') would use "), message
    assert "for its bind 'audit', which is not one of this run's test databases" in message
""",
    )
    result.assert_outcomes(passed=1)
    assert not (tmp_path / "other.db").exists()
    assert not (tmp_path / "test_other.db").exists()


EVERY_ENGINE = """
import sqlalchemy as sa
from probe import committed
from shop import db, names

def insert(connection, name):
    connection.execute(sa.text("INSERT INTO item (name) VALUES (:name)"), {"name": name})

def test_1_every_engine_writes_into_the_sandbox(client):
    with db.engine.execution_options(logging_token="copy").begin() as connection:
        insert(connection, "copy")
    with db.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
        insert(connection, "auto")
        assert connection.execute(sa.text("SELECT COUNT(*) FROM item")).scalar() == 2
    raw = db.engine.raw_connection()
    raw.cursor().execute("INSERT INTO item (name) VALUES ('raw')")
    raw.commit()
    raw.close()
    raw = db.engine.raw_connection()
    raw.cursor().execute("INSERT INTO item (name) VALUES ('raw-discarded')")
    raw.close()
    plain = sa.create_engine(db.engine.url.render_as_string(hide_password=False))
    with plain.begin() as connection:
        insert(connection, "plain")
    plain.dispose()
    db.session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
    assert names() == ["auto", "copy", "plain", "raw"]
    assert client.get("/items").json == ["auto", "copy", "plain", "raw"]

def test_2_starts_clean(client):
    assert client.get("/items").json == []
    assert committed("item") == 0
"""


@pytest.mark.parametrize("strategy", ["transaction", "truncate"])
def test_engine_copies_raw_connections_and_autocommit_stay_in_the_sandbox(shop, strategy):
    result = shop.run(
        f"--testbed-strategy={strategy}", "--testbed-check-leaks", test_every_engine=EVERY_ENGINE
    )
    result.assert_outcomes(passed=2)


TWO_BINDS = """
import pytest
import sqlalchemy as sa
from shop import AuditEntry, Item, db

def test_two_binds_on_one_database_see_one_state(client):
    assert client.post("/items", json={"name": "shared"}).status_code == 201
    audit = db.engines["audit"]
    with audit.connect() as connection:
        # Committed through the default bind, seen through the other at once.
        assert connection.execute(sa.text("SELECT name FROM item")).scalars().all() == ["shared"]
        connection.execute(sa.text("INSERT INTO audit_entry (message) VALUES ('m')"))
        connection.commit()
    assert db.session.query(AuditEntry).count() == 1
    # A write that meets the other bind's row: an IntegrityError at once, as in production.
    with audit.connect() as connection, pytest.raises(sa.exc.IntegrityError):
        connection.execute(sa.text("INSERT INTO item (name) VALUES ('shared')"))

def test_nothing_left(client):
    assert client.get("/items").json == []
    assert db.session.query(AuditEntry).count() == 0
"""


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_two_binds_on_one_database_share_its_connection(shop, backend):
    # On SQLite the shop's audit bind is a file of its own: the case cannot arise.
    result = shop.run("--testbed-check-leaks", test_binds=TWO_BINDS)
    result.assert_outcomes(passed=2)
