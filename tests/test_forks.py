"""A process forked while a connection is pinned never uses the run's socket.

pytest-flask's ``live_server`` forks (multiprocessing), and so may a test. The
child inherits the pinned connection: on PostgreSQL the run then hung forever
in a module teardown, on MariaDB a test read the server's reply to the child.
Now every statement the child tries on it is refused with one line, its copy
of the socket is dead, and the run goes on unharmed. Each run is a process of
its own with a timeout: a hang fails the test instead of the suite.
"""

from __future__ import annotations

import pytest

from flask_testbed.guards.forks import MESSAGE

FORKS = """
import multiprocessing
import os
import pytest
import sqlalchemy as sa
from shop import Item, db, names

def in_child(work):
    '''Run work() in a forked child; what it raised, or "" if nothing.'''
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        said = ""
        try:
            work()
        except BaseException as exc:
            said = str(exc) or type(exc).__name__
        os.write(write, said.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        said = pipe.read().decode()
    os.waitpid(pid, 0)
    return said

# The child runs in the test's app context, which the fork copied.
def query_through_the_session():
    names()

def query_through_a_connection():
    with db.engine.connect() as connection:
        connection.execute(sa.text("SELECT COUNT(*) FROM item")).scalar()

def read_the_driver_connection():
    db.session.get_bind().connection.dbapi_connection.cursor()

def test_1_child_queries_through_the_session(client):
    assert client.post("/items", json={"name": "parent"}).status_code == 201
    assert in_child(query_through_the_session) == MESSAGE
    assert names() == ["parent"]

def test_2_child_queries_through_engine_connect(client):
    assert client.post("/items", json={"name": "parent"}).status_code == 201
    assert in_child(query_through_a_connection) == MESSAGE
    assert in_child(read_the_driver_connection) == MESSAGE
    assert names() == ["parent"]

def test_3_child_exits_without_querying(client):
    assert client.post("/items", json={"name": "parent"}).status_code == 201
    assert in_child(lambda: None) == ""
    assert names() == ["parent"]

def test_4_a_multiprocessing_server(client):
    # As pytest-flask's live_server starts its server.
    assert client.post("/items", json={"name": "parent"}).status_code == 201
    process = multiprocessing.get_context("fork").Process(target=query_through_the_session)
    process.start()
    process.join(30)
    assert process.exitcode == 1  # the refusal ended it
    assert names() == ["parent"]
"""

# Driver-level code that took the driver's connection before the fork: only the dead
# socket stops it (on a server; SQLite has no socket).
HELD_BEFORE_THE_FORK = """
from shop import db, names
from test_a_forks import in_child

def test_child_uses_a_driver_connection_taken_before_the_fork(client):
    assert client.post("/items", json={"name": "parent"}).status_code == 201
    held = db.session.get_bind().connection.dbapi_connection

    def use_it():
        cursor = held.cursor()
        cursor.execute("SELECT 1")
        cursor.fetchall()

    assert in_child(use_it) != ""  # the driver raised: its socket is dead
    assert names() == ["parent"]
"""

AFTER = """
from shop import Item, db, names

def test_later_tests_run_clean(client):
    assert names() == []
    assert client.post("/items", json={"name": "after"}).status_code == 201
    assert names() == ["after"]
"""

TRUNCATE = """
import os
import pytest
from shop import Item, db, names
from test_a_forks import in_child

def write_in_child():
    db.session.add(Item(name="child"))
    db.session.commit()

@pytest.mark.testbed(strategy="truncate")
def test_under_truncate_the_child_has_a_connection_of_its_own(client):
    assert client.post("/items", json={"name": "parent"}).status_code == 201
    assert in_child(write_in_child) == ""
    assert names() == ["child", "parent"]
"""


@pytest.mark.parametrize("buried", [True, False], ids=["dead-socket", "refusal-only"])
def test_a_forked_child_cannot_use_the_pinned_connection(shop, backend, buried):
    """Without the dead socket (where the driver does not tell its socket, SQLite), the
    refusal alone keeps the child off the run's connection."""
    if not buried and backend == "sqlite":
        pytest.skip("SQLite has no socket to replace: the refusal is all there is")
    files = {"test_a_forks": FORKS.replace("MESSAGE", repr(MESSAGE)), "test_c_after": AFTER}
    expected = 5
    if buried and backend != "sqlite":
        files["test_b_held"] = HELD_BEFORE_THE_FORK
        expected += 1
    if not buried:
        files["conftest"] = (
            "from flask_testbed.database import backends\n"
            "backends.Backend.socket_of = lambda self, connection: None\n"
            "backends.PostgreSQLBackend.socket_of = backends.Backend.socket_of\n"
            "backends.MySQLBackend.socket_of = backends.Backend.socket_of\n"
        )
    result = shop.run_subprocess("-p", "no:randomly", timeout=120, **files)
    result.assert_outcomes(passed=expected)
    assert shop.count("item") == 0


def test_under_truncate_a_forked_child_gets_its_own_connection(shop, backend):
    """What the refusal advises works: the child's engines start with an empty pool."""
    result = shop.run_subprocess(
        "-p", "no:randomly", timeout=120,
        test_a_forks=FORKS.replace("MESSAGE", repr(MESSAGE)), test_d_truncate=TRUNCATE,
    )
    result.assert_outcomes(passed=5)


def test_pymysql_socket_is_found_and_its_absence_falls_back(backend):
    """The one private attribute read (PyMySQL's ``_sock``) and its fallback."""
    from flask_testbed.database.backends.mysql import _pymysql_socket

    assert _pymysql_socket(object()) is None
    if backend != "mariadb":
        return
    import sqlalchemy as sa
    from conftest import server_url

    engine = sa.create_engine(server_url("mariadb"))
    try:
        with engine.connect() as connection:
            dbapi = connection.connection.dbapi_connection
            assert _pymysql_socket(dbapi) == dbapi._sock.fileno()
    finally:
        engine.dispose()
