"""Driver-level reads between tests get their own results.

The rollback that ends a test is sent without waiting for its reply. A module
fixture's teardown runs right after the module's last test: code there that
reaches the driver around SQLAlchemy would meet that reply (wrong rows and a
protocol error on MariaDB, "another command is already in progress" on
PostgreSQL). Each way of reaching the driver connection reads it first.
"""

from __future__ import annotations

import pytest

PATHS = {
    "get_bind-dbapi": "db.session.get_bind().connection.dbapi_connection",
    "get_bind-driver": "db.session.get_bind().connection.driver_connection",
    "session-connection": "db.session.connection().connection.dbapi_connection",
    "engine-connect": "db.engine.connect().connection.dbapi_connection",
}

READS = """
import pytest
from shop import Item, db, names

SEEN = []

def count_items(dbapi):
    cursor = dbapi.cursor()
    cursor.execute("SELECT COUNT(*) FROM item")
    (count,) = cursor.fetchone()
    cursor.close()
    return count

@pytest.fixture(scope="module")
def shelf(app):
    db.session.add(Item(name="shelf"))
    db.session.commit()
    yield
    SEEN.append(count_items(PATH))

def test_1_writes(client, shelf):
    assert client.post("/items", json={"name": "a"}).status_code == 201

def test_2_writes_last(client, shelf):
    assert client.post("/items", json={"name": "b"}).status_code == 201
    assert names() == ["b", "shelf"]
"""

AFTER = """
from shop import db, names
from test_a_reads import SEEN

def test_the_teardown_saw_the_modules_row_only(client):
    assert SEEN == [1]
    assert names() == []
"""


@pytest.mark.parametrize("path", list(PATHS), ids=list(PATHS))
def test_a_module_teardown_reading_through_the_driver_meets_no_pending_reply(
    shop, backend, path
):
    result = shop.run(
        test_a_reads=READS.replace("PATH", PATHS[path]), test_b_after=AFTER
    )
    result.assert_outcomes(passed=3)
    assert shop.count("item") == 0


def test_raw_connection_in_a_module_teardown_reads_consistently(shop, backend):
    """``engine.raw_connection()`` hands out the pinned connection: it sees the module's
    row, never a reply meant for the plugin."""
    result = shop.run(
        test_a_reads=READS.replace(
            "SEEN.append(count_items(PATH))",
            """raw = db.engine.raw_connection()
    pinned = raw.dbapi_connection is db.session.get_bind().connection.dbapi_connection
    SEEN.append(count_items(raw.dbapi_connection) if pinned else "not the pinned connection")
    raw.close()""",
        ),
        test_b_after=AFTER,
    )
    result.assert_outcomes(passed=3)
    assert shop.count("item") == 0
