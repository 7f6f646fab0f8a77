"""Guards: each fires with its exact message when a rule is broken, and stays silent otherwise."""

import pytest
from test_isolation import EVERY_PATH, STRATEGIES

BLOCKED = (
    "*DatabaseAccessBlocked: test_access.py::test_without_fixture reached the database "
    "without asking for it: add the db_session (or client) fixture to it, "
    "or mark it @pytest.mark.testbed*"
)


def test_a_test_without_fixtures_is_refused_the_database(shop):
    result = shop.run(
        test_access="""
import pytest
from shop import Item

def test_with_fixture(db_session):
    assert Item.query.count() == 0

def test_without_fixture():
    Item.query.count()

@pytest.mark.testbed
def test_marker_alone_grants_access():
    assert Item.query.count() == 0

def test_pure_python_is_left_alone():
    assert sum([1, 2]) == 3
"""
    )
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines([BLOCKED])


def test_a_query_at_import_time_is_refused(shop):
    shop.pytester.makepyfile(wsgi="from shop import create_app\napp = create_app()\n")
    shop.pytester.makeini("[pytest]\ntestbed_app = wsgi:app\n")
    result = shop.run(
        test_import_time="""
from sqlalchemy import text
from shop import db
from wsgi import app

with app.app_context():
    COUNT = db.session.execute(text("SELECT 1")).scalar()

def test_never_runs(db_session):
    pass
"""
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*DatabaseAccessBlocked: database access while collecting tests "
         "(a query at import time): move it into a fixture or a test*"]
    )


SESSION_CATALOGUE = """
import pytest
from shop import Item, db

@pytest.fixture(scope="session")
def catalogue(db):
    db.session.add(Item(name="seed"))
    db.session.commit()
"""


@pytest.mark.parametrize("strategy", ["truncate", "recreate"])
def test_session_data_under_a_wiping_strategy_is_an_error(shop, strategy):
    result = shop.run(
        f"--testbed-strategy={strategy}",
        test_scope=SESSION_CATALOGUE + "\ndef test_uses_it(client, catalogue):\n    pass\n",
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [f"*session-scoped fixture 'catalogue' wrote rows (item, item_history), but the "
         f"'{strategy}' strategy empties the database after every test*make the fixture "
         "function-scoped, or use the 'transaction' strategy*"]
    )


def test_session_data_under_transaction_is_fine(shop):
    result = shop.run(
        "-W", "error::pytest.PytestWarning",
        test_scope=SESSION_CATALOGUE
        + "\ndef test_uses_it(client, catalogue):\n"
        + "    assert client.get('/items').json == ['seed']\n",
    )
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_function_data_in_a_module_flow_is_a_warning(shop, strategy):
    result = shop.run(
        f"--testbed-strategy={strategy}",
        test_flow="""
import pytest
from shop import Item, db

@pytest.fixture
def item(db_session):
    db_session.add(Item(name="again"))
    db_session.commit()

@pytest.fixture(scope="module")
def module_item(app):
    db.session.add(Item(name="once"))
    db.session.commit()

def test_first(client_module, module_item):
    assert client_module.get("/items").json == ["once"]

def test_piles_up(client_module, item):
    pass
""",
    )
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(
        ["*function-scoped fixture 'item' wrote rows (item, item_history) in "
         "test_flow.py::test_piles_up, which uses client_module: they pile up across "
         "the module's tests; make the fixture module-scoped to match the client*"]
    )


LEAKY = """
import sqlalchemy as sa
from probe import committed
from shop import db

def test_1_commits_behind_the_plugins_back(client):
    # The driver itself, around SQLAlchemy: the one path no isolation can see.
    dialect = db.engine.dialect
    cargs, cparams = dialect.create_connect_args(db.engine.url)
    connection = dialect.loaded_dbapi.connect(*cargs, **cparams)
    connection.cursor().execute("INSERT INTO item (name) VALUES ('leak')")
    connection.commit()
    connection.close()

def test_2_starts_clean(client):
    assert client.get("/items").json == []
    assert committed("item") == 0
"""


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_leak_check_names_the_leaking_test(shop, strategy):
    result = shop.run("--testbed-check-leaks", f"--testbed-strategy={strategy}", test_leak=LEAKY)
    if strategy == "transaction":
        result.assert_outcomes(passed=2, errors=1)
        result.stdout.fnmatch_lines(
            ["*ERROR at teardown of test_1_commits_behind_the_plugins_back*",
             "*test_leak.py::test_1_commits_behind_the_plugins_back leaked rows "
             "past the isolation (item: 1)*every table was emptied so the next test starts clean"]
        )
    else:
        # Committing strategies clean the tables the app's engines wrote to; this
        # write came through a connection of the driver's, and only the check sees it.
        result.assert_outcomes(passed=2, errors=1)
        result.stdout.fnmatch_lines(["*leaked rows past the isolation (item: 1)*"])


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_leak_check_is_silent_on_a_correct_suite(shop, strategy):
    shop.pytester.makeini(
        "[pytest]\ntestbed_app = shop:create_app\ntestbed_check_leaks = true\n"
    )
    result = shop.run(f"--testbed-strategy={strategy}", test_paths=EVERY_PATH)
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_query_counting(shop, strategy):
    result = shop.run(
        f"--testbed-strategy={strategy}",
        test_queries="""
def test_exact(client, assert_num_queries):
    client.post("/items", json={"name": "a"})
    with assert_num_queries(1):
        client.get("/items")

def test_at_most(client, assert_max_queries):
    with assert_max_queries(3):
        client.post("/items", json={"name": "b"})

def test_wrong_count_lists_the_statements(client, assert_num_queries):
    with assert_num_queries(5):
        client.get("/items")
""",
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*expected 5 queries, the app ran 1:",
            "*  1. SELECT item.id AS item_id, item.name AS item_name FROM item",
        ]
    )


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_after_commit_hooks_run_on_the_apps_commit(shop, strategy):
    result = shop.run(
        f"--testbed-strategy={strategy}",
        test_mail="""
from shop import outbox

def test_commit_sends_mail(client):
    outbox.clear()
    client.post("/items", json={"name": "a"})
    assert outbox == ["new item a"]

def test_failed_commit_sends_none(client):
    client.post("/items", json={"name": "b"})
    outbox.clear()
    assert client.post("/items", json={"name": "b"}).status_code == 409
    assert outbox == []
""",
    )
    result.assert_outcomes(passed=2)
