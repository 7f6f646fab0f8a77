"""Isolation: whatever a test, its fixtures or the app wrote is gone when it ends."""

import pytest

STRATEGIES = ["transaction", "truncate", "recreate"]

EVERY_PATH = """
from shop import AuditEntry, db, names

def test_1_writes_every_way(client, runner):
    assert client.post("/items/threaded", json={"name": "thread"}).status_code == 200
    assert client.post("/items", json={"name": "request"}).status_code == 201
    assert client.post("/items/raw", json={"name": "raw"}).status_code == 200
    assert client.post("/audit", json={"message": "second bind"}).json == {"count": 2}
    assert runner.invoke(args=["add-item"]).exit_code == 0
    assert names() == ["from-cli", "raw", "raw-2", "request", "thread"]

def test_2_sees_none_of_it(client):
    assert client.get("/items").json == []
    assert db.session.query(AuditEntry).count() == 0
"""


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_writes_of_every_path_are_gone_in_the_next_test(shop, strategy):
    result = shop.run(f"--testbed-strategy={strategy}", test_paths=EVERY_PATH)
    result.assert_outcomes(passed=2)


def test_transaction_strategy_never_commits(shop):
    result = shop.run(
        test_never=(
            "from probe import committed\n"
            "def test_app_commit_is_invisible_outside(client):\n"
            "    assert client.post('/items', json={'name': 'a'}).status_code == 201\n"
            "    assert client.post('/audit', json={'message': 'm'}).status_code == 200\n"
            "    assert client.get('/items').json == ['a']\n"
            "    assert committed('item') == 0\n"
            "    assert committed('audit_entry', 'audit') == 0\n"
        )
    )
    result.assert_outcomes(passed=1)


def test_marker_chooses_a_committing_strategy_per_test_class_and_module(shop):
    result = shop.run(
        test_marked=(
            "import pytest\n"
            "from probe import committed\n"
            "\n"
            "@pytest.mark.testbed(strategy='truncate')\n"
            "def test_truncate_commits(client):\n"
            "    client.post('/items', json={'name': 'a'})\n"
            "    assert committed('item') == 1\n"
            "\n"
            "def test_default_is_transaction(client):\n"
            "    assert client.get('/items').json == []\n"
            "    client.post('/items', json={'name': 'b'})\n"
            "    assert committed('item') == 0\n"
            "\n"
            "@pytest.mark.testbed(strategy='recreate')\n"
            "class TestRecreate:\n"
            "    def test_commits(self, client):\n"
            "        assert client.get('/items').json == []\n"
            "        client.post('/items', json={'name': 'c'})\n"
            "        assert committed('item') == 1\n"
            "\n"
            "    def test_starts_clean(self, client):\n"
            "        assert committed('item') == 0\n"
        ),
        test_module_marked=(
            "import pytest\n"
            "from probe import committed\n"
            "pytestmark = pytest.mark.testbed(strategy='truncate')\n"
            "\n"
            "def test_commits(client):\n"
            "    assert client.get('/items').json == []\n"
            "    client.post('/items', json={'name': 'd'})\n"
            "    assert committed('item') == 1\n"
        ),
    )
    result.assert_outcomes(passed=5)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_fixture_rows_are_visible_to_requests_and_survive_an_app_rollback(shop, strategy):
    result = shop.run(
        f"--testbed-strategy={strategy}",
        test_fixture_rows="""
import pytest
from shop import Item, db

@pytest.fixture
def existing(db_session):
    db_session.add(Item(name="existing"))
    db_session.commit()

def test_request_sees_fixture_rows(client, existing):
    assert client.get("/items").json == ["existing"]

def test_integrity_error_rollback_keeps_earlier_rows(client, existing):
    assert client.post("/items", json={"name": "new"}).status_code == 201
    assert client.post("/items", json={"name": "new"}).status_code == 409
    assert client.get("/items").json == ["existing", "new"]

def test_app_savepoint_rolls_back_alone(client, existing):
    response = client.post("/items/nested", json={"keep": "kept", "drop": "dropped"})
    assert response.json == ["existing", "kept"]

def test_nothing_left(client):
    assert client.get("/items").json == []
""",
    )
    result.assert_outcomes(passed=4)


def test_module_and_class_data_is_shared_restored_and_gone_after(shop):
    result = shop.run(
        test_a_module_data="""
import pytest
from shop import Item, Tag, db, names

@pytest.fixture(scope="module")
def catalogue(app):
    item = Item(name="module-item")
    db.session.add(item)
    db.session.commit()
    return item

def test_first_sees_module_data_and_adds(client, catalogue):
    assert client.get("/items").json == ["module-item"]
    db.session.add(Tag(item_id=catalogue.id, label="t"))
    client.post("/items", json={"name": "first"})
    catalogue.name = "renamed"
    db.session.commit()

def test_second_sees_module_data_as_it_was(client, catalogue):
    assert client.get("/items").json == ["module-item"]
    assert catalogue.name == "module-item"
    assert Tag.query.count() == 0

class TestClassData:
    @pytest.fixture(scope="class")
    def extra(self, catalogue):
        db.session.add(Item(name="class-item"))
        db.session.commit()

    def test_sees_both(self, client, extra):
        assert names() == ["class-item", "module-item"]
        client.post("/items", json={"name": "in-class"})

    def test_sees_both_again(self, client, extra):
        assert names() == ["class-item", "module-item"]

def test_class_data_gone(client, catalogue):
    assert names() == ["module-item"]
""",
        test_b_next_module="""
from shop import names

def test_module_data_gone(client):
    assert names() == []
""",
    )
    result.assert_outcomes(passed=6)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_client_module_flow_with_clean_database(shop, strategy):
    result = shop.run(
        f"--testbed-strategy={strategy}",
        test_a_flow="""
def test_create(test_client_module):
    assert test_client_module.post("/items", json={"name": "a"}).status_code == 201

def test_update(test_client_module):
    assert test_client_module.get("/items").json == ["a"]
    test_client_module.post("/items", json={"name": "b"})

def test_selective_reset(test_client_module, clean_database):
    assert test_client_module.get("/items").json == []
    test_client_module.post("/items", json={"name": "c"})

def test_after_reset(test_client_module):
    assert test_client_module.get("/items").json == ["c"]
""",
        test_b_after="""
def test_flow_left_nothing(test_client):
    assert test_client.get("/items").json == []
""",
    )
    result.assert_outcomes(passed=5)


def test_users_own_app_fixture_needs_no_configuration(pytester, database_url, audit_url, shop):
    pytester.makeini("[pytest]\n")
    pytester.makeconftest(
        "import pytest\n"
        "from shop import create_app\n"
        "@pytest.fixture(scope='session')\n"
        "def app():\n"
        "    return create_app()\n"
    )
    result = shop.run(test_paths=EVERY_PATH)
    result.assert_outcomes(passed=2)


def test_session_scoped_seed_data_is_shared_by_every_test_and_restored(shop):
    result = shop.run(
        test_a_seed="""
from shop import Item, db, names

def test_sees_seed_and_deletes_some(client, seed):
    assert len(names()) == 300
    Item.query.filter(Item.name < "seed-100").delete()
    db.session.commit()
    assert len(names()) == 200

def test_seed_is_whole_again(client, seed):
    assert len(names()) == 300
""",
        test_b_later="""
from shop import names

def test_seed_still_there_in_another_module(client, seed):
    assert len(names()) == 300
""",
        conftest="""
import pytest
from shop import Item

@pytest.fixture(scope="session")
def seed(db):
    db.session.add_all([Item(name=f"seed-{i:03}") for i in range(300)])
    db.session.commit()
""",
    )
    result.assert_outcomes(passed=3)


def test_ddl_inside_a_test(shop, backend):
    """PostgreSQL and SQLite roll DDL back; MariaDB commits on it, and the plugin says so."""
    shop.drop("ddl_probe")
    result = shop.run(
        test_ddl="""
from sqlalchemy import text
from shop import db, names

def test_1_runs_ddl(client):
    client.post("/items", json={"name": "before-ddl"})
    db.session.execute(text("CREATE TABLE ddl_probe (id INTEGER)"))

def test_2_starts_clean(client):
    assert names() == []
"""
    )
    if backend == "mariadb":
        result.assert_outcomes(passed=2, errors=1)
        result.stdout.fnmatch_lines(
            ["*ERROR at teardown of test_1_runs_ddl*",
             "*the database ended the test transaction on mysql+pymysql://root@*"
             "something committed for real*MySQL/MariaDB*@pytest.mark.testbed(strategy=*"]
        )
        assert shop.count("ddl_probe") == 0
        shop.drop("ddl_probe")
    else:
        result.assert_outcomes(passed=2)
        assert not shop.has_table("ddl_probe")


@pytest.mark.parametrize("bookkeeping", ["fast", "public"])
def test_a_real_commit_is_named_at_its_own_teardown_even_if_the_test_goes_on(
    shop, backend, monkeypatch, bookkeeping
):
    """After a statement that commits for real, the end of the test waits for its
    rollback (which fails) on every backend, though the app's next statements began a
    new transaction: the test that committed reports it, and the next starts clean.
    SQLAlchemy's savepoints, lost with the transaction, are ended on either path."""
    if bookkeeping == "public":
        monkeypatch.setenv("TESTBED_FASTPATHS_OFF", "sqlalchemy-savepoint-bookkeeping")
    result = shop.run(
        test_commit="""
from sqlalchemy import text
from shop import db, names

def test_1_commits_and_goes_on(client):
    client.post("/items", json={"name": "committed"})
    db.session.execute(text("COMMIT"))
    assert names() == ["committed"]  # a new transaction on PostgreSQL and MariaDB

def test_2_starts_clean(client):
    assert names() == []
"""
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_1_commits_and_goes_on*",
        "the database ended the test transaction on *something committed for real*",
    ])
    said = [line for line in result.outlines if line.startswith("the database ended")]
    assert len(said) == 1, said  # one line, not again as a chained error
    assert shop.count("item") == 0


# Around SQLAlchemy, on the driver's own connection: the plugin cannot see the commit.
RAW_COMMIT_AND_BEGIN_AGAIN = """
from shop import AuditEntry, db, names

def test_1_commits_and_begins_again(client):
    client.post("/items", json={"name": "committed"})
    client.post("/audit", json={"message": "committed"})
    for engine in (db.engine, db.engines["audit"]):  # both binds: two rollbacks fail
        cursor = engine.connect().connection.dbapi_connection.cursor()
        cursor.execute("COMMIT")
        cursor.execute("BEGIN")
        cursor.execute("SAVEPOINT raw")  # MariaDB's reply to it says: in a transaction
        cursor.close()
    assert names() == ["committed"]

def test_2_follows(client):
    pass

def test_3_starts_clean(client):
    assert names() == []
    assert db.session.query(AuditEntry).count() == 0
"""


def test_a_commit_the_plugin_cannot_see_is_named_by_the_next_test(shop, backend):
    """The end of a test's rollback is not waited for (PostgreSQL, MariaDB): it is read
    before the next test's fixtures. When it fails because the test committed for real
    where the plugin could not see it, the next test reports it, naming the one that
    committed; SQLite reports it at the test's own teardown. Every table is emptied."""
    result = shop.run(test_commit=RAW_COMMIT_AND_BEGIN_AGAIN)
    deferred = backend != "sqlite"
    test_1 = "test_1_commits_and_begins_again"
    result.assert_outcomes(passed=2 if deferred else 3, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at setup of test_2_follows*" if deferred else f"*ERROR at teardown of {test_1}*",
        "the database ended the test transaction on *"
        + (f" during test_commit.py::{test_1} (*" if deferred else "")
        + "something committed for real*@pytest.mark.testbed(strategy=*",
    ])
    assert shop.count("item") == 0
    assert shop.count("audit_entry", shop.env["SHOP_AUDIT_URL"]) == 0


def test_the_drivers_connection_is_handed_out_after_the_rollback_is_read(shop):
    """Code that reaches the driver around SQLAlchemy between two tests (here a hook
    after every fixture is torn down) gets its own results, never the reply to the
    rollback still on its way."""
    result = shop.run(
        test_raw="""
from shop import db

SEEN = []

def test_1_writes(client):
    assert client.post("/items", json={"name": "a"}).status_code == 201

def test_2_the_hook_read_its_own_row(client):
    assert SEEN == [42]
    assert client.post("/items", json={"name": "b"}).status_code == 201

def test_3_the_hook_read_the_isolation_level(client):
    assert SEEN[1].replace(" ", "_").upper() in {"READ_COMMITTED", "SERIALIZABLE"}
""",
        conftest="""
import pytest
from shop import db

@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item):
    result = yield
    if item.name == "test_1_writes":
        cursor = db.engine.connect().connection.dbapi_connection.cursor()
        cursor.execute("SELECT 42")
        item.module.SEEN.append(cursor.fetchone()[0])
        cursor.close()
    if item.name == "test_2_the_hook_read_its_own_row":
        item.module.SEEN.append(db.engine.connect().get_isolation_level())
    return result
""",
    )
    result.assert_outcomes(passed=3)


def test_with_the_leak_check_a_real_commit_is_named_at_its_own_teardown(shop):
    """The leak check reads the tables right after the rollback was sent: it finds the
    committed rows, and healing must read every engine's failed rollback on the way."""
    result = shop.run("--testbed-check-leaks", test_commit=RAW_COMMIT_AND_BEGIN_AGAIN)
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_1_commits_and_begins_again*"])
    assert shop.count("item") == 0
    assert shop.count("audit_entry", shop.env["SHOP_AUDIT_URL"]) == 0


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_a_cleanup_blocked_by_a_forgotten_transaction_fails_fast_and_names_it(
    shop, backend, monkeypatch
):
    monkeypatch.setenv("TESTBED_LOCK_TIMEOUT", "2")
    result = shop.run(
        "--testbed-strategy=recreate",
        test_stuck="""
import sqlalchemy as sa
from shop import db

FORGOTTEN = []

def test_1_leaves_a_transaction_open(client):
    client.post("/items", json={"name": "a"})
    engine = sa.create_engine(db.engine.url.render_as_string(hide_password=False))
    connection = engine.connect()
    connection.execute(sa.text("SELECT COUNT(*) FROM item"))
    FORGOTTEN.append(connection)

def test_2_closes_the_forgotten_one(client):
    FORGOTTEN.pop().close()

def test_3_starts_clean_again(client):
    assert client.get("/items").json == []
""",
    )
    result.assert_outcomes(passed=3, errors=1)
    # PostgreSQL knows the idle transaction's last query; InnoDB only its state.
    detail = "last query: SELECT COUNT(*) FROM item" if backend == "postgresql" else "RUNNING"
    result.stdout.fnmatch_lines(
        ["*ERROR at teardown of test_1_leaves_a_transaction_open*",
         f"*cleanup of * waited 2 s for a lock held by connection * (*{detail}*)"
         "*close it before the test ends*"]
    )


@pytest.mark.parametrize("backend", ["sqlite"])
def test_scope_fixtures_run_only_where_they_isolate_something(shop):
    result = shop.run(
        "--setup-show",
        test_where_scopes_run="""
import pytest
from shop import Item, db

@pytest.mark.parametrize("marked", [pytest.param(True, marks=pytest.mark.testbed), False])
def test_one_param_is_a_database_test(marked):
    if marked:
        db.session.add(Item(name="param"))
        db.session.commit()

def test_module_level(db_session):
    assert Item.query.count() == 0

class TestInClass:
    def test_in_class(self, db_session):
        assert Item.query.count() == 0
""",
    )
    result.assert_outcomes(passed=4)
    lines = result.stdout.lines
    setups = {}
    for line in lines:
        if "SETUP" in line and "_testbed_" in line:
            setups.setdefault(line.split()[-1], 0)
            setups[line.split()[-1]] += 1
    assert setups == {"_testbed_module_scope": 1, "_testbed_class_scope": 1,
                      "_testbed_test_scope": 3}, lines


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_a_connection_the_server_drops_is_replaced_and_the_run_stays_isolated(shop, backend):
    """The server ends the pinned connection mid-test (a restart, an admin's kill).
    The driver learns it only when it reads the rollback's reply, as the next test
    starts: that test reports it, naming the one that lost it, and the tests after
    it still run in a sandbox of their own, on a new connection."""
    own_id, kill = {
        "postgresql": ("SELECT pg_backend_pid()", "SELECT pg_terminate_backend({})"),
        "mariadb": ("SELECT CONNECTION_ID()", "KILL CONNECTION {}"),
    }[backend]
    result = shop.run(
        test_dropped=f"""
import sqlalchemy as sa
from flask_testbed.database.own_engines import keep_apart
from shop import db, names

def test_1_loses_its_connection(client):
    client.post("/items", json={{"name": "lost"}})
    victim = db.session.execute(sa.text("{own_id}")).scalar()
    # Its own connection: any other engine on the database would join the test's.
    killer = keep_apart(sa.create_engine(db.engine.url.render_as_string(hide_password=False)))
    with killer.connect() as connection:
        connection.execute(sa.text("{kill}".format(victim)))
    killer.dispose()

def test_2_writes(client):
    assert names() == []
    assert client.post("/items", json={{"name": "kept-in-the-sandbox"}}).status_code == 201

def test_3_starts_clean(client):
    assert names() == []
"""
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at setup of test_2_writes*",
        "the server closed the connection during test_dropped.py::test_1_loses_its_connection: "
        "its writes were rolled back by the server (*); the tests after it run on a new "
        "connection*",
    ])
    assert "committed" not in result.stdout.str()
    assert shop.count("item") == 0
