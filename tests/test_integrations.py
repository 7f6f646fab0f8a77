"""The same isolation for apps not on Flask-SQLAlchemy: Flask-SQLAlchemy-Lite, plain SQLAlchemy.

Each app kind (``tests/apps/<kind>.py``) offers the same names to the inner
suites through ``kind.py``: the models, ``session()``, ``engine(name)``,
``names()``, ``audit_count()``. Every suite runs on every backend.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import APPS

KINDS = {
    "lite": (
        "testbed_app = lite:create_app\n"
        "testbed_metadata = lite:Base.metadata audit=lite:AuditBase.metadata\n"
    ),
    "plain": (
        "testbed_app = plain:create_app\n"
        "testbed_engine = plain:engine audit=plain:audit_engine\n"
        "testbed_session = plain:db_session\n"
        "testbed_metadata = plain:Base.metadata audit=plain:AuditBase.metadata\n"
    ),
}
#: what each kind's ``kind.py`` adds to ``from <kind> import *``
SHIMS = {"lite": "", "plain": "from plain import engine_of as engine\n"}

PROBE = """
import sqlalchemy as sa
from kind import engine

from flask_testbed.database.own_engines import keep_apart


def committed(table, name=None):
    # Kept apart: any other engine on a test database joins the test's connection.
    own = keep_apart(sa.create_engine(engine(name).url.render_as_string(hide_password=False)))
    try:
        with own.connect() as connection:
            return connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
    finally:
        own.dispose()
"""


class Kind:
    """An inner project on one app kind."""

    def __init__(self, pytester: pytest.Pytester, kind: str, database_url: str, audit_url: str):
        self.pytester = pytester
        pytester.makepyfile(
            **{kind: (APPS / f"{kind}.py").read_text()},
            kind=f"from {kind} import *  # noqa: F403\n" + SHIMS[kind],
            probe=PROBE,
        )
        pytester.makeini("[pytest]\n" + KINDS[kind])
        pytester.syspathinsert()
        self.database_url = database_url
        self.env = {"SHOP_AUDIT_URL": audit_url}

    def run(self, *args: str, subprocess: bool = False, **files: str) -> pytest.RunResult:
        """An inner run; with ``database_url`` None the app's own URLs are used."""
        if files:
            self.pytester.makepyfile(**files)
        runner = self.pytester.runpytest_subprocess if subprocess else self.pytester.runpytest
        with pytest.MonkeyPatch.context() as mp:
            for key, value in self.env.items():
                mp.setenv(key, value)
            if self.database_url is not None:
                args = (f"--testbed-db-url={self.database_url}", *args)
            return runner("-p", "no:cacheprovider", "-p", "no:randomly", *args)


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest, pytester: pytest.Pytester, database_url: str,
         audit_url: str) -> Kind:
    return Kind(pytester, request.param, database_url, audit_url)


STRATEGIES = ["transaction", "truncate", "recreate"]

EVERY_PATH = """
import threading
from kind import AuditEntry, Item, audit_count, engine, names, session
from probe import committed
from sqlalchemy import text

def test_1_writes_every_way(client, runner, db_session):
    assert client.post("/items/threaded", json={"name": "thread"}).status_code == 200
    assert client.post("/items", json={"name": "request"}).status_code == 201
    assert client.post("/items/begin", json={"name": "begin"}).status_code == 201
    assert client.post("/items/named", json={"name": "named"}).status_code == 201
    assert client.post("/items/raw", json={"name": "raw"}).status_code == 200
    assert client.post("/audit", json={"message": "second engine"}).json == {"count": 2}
    assert runner.invoke(args=["add-item"]).exit_code == 0
    db_session.add(Item(name="test"))
    db_session.commit()
    with engine().begin() as connection:
        connection.execute(text("INSERT INTO item (name) VALUES ('engine')"))

    audit = engine("audit")  # the app's: the thread has no app context

    def job():
        with audit.begin() as connection:
            connection.execute(text("INSERT INTO audit_entry (message) VALUES ('job')"))

    worker = threading.Thread(target=job)
    worker.start()
    worker.join()
    assert names() == [
        "begin", "engine", "from-cli", "named", "raw", "raw-2", "raw-3", "request", "test",
        "thread",
    ]
    assert audit_count() == 3

def test_2_sees_none_of_it(client, db_session):
    assert client.get("/items").json == []
    assert audit_count() == 0
    assert db_session.query(Item).count() == 0
    assert committed("item") == 0
    assert committed("audit_entry", "audit") == 0
"""


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_writes_of_every_path_are_gone_in_the_next_test(kind, strategy):
    result = kind.run(f"--testbed-strategy={strategy}", "--testbed-check-leaks",
                      test_paths=EVERY_PATH)
    result.assert_outcomes(passed=2)


def test_the_transaction_strategy_never_commits(kind):
    result = kind.run(test_never="""
from probe import committed

def test_app_commit_is_invisible_outside(client):
    assert client.post("/items", json={"name": "a"}).status_code == 201
    assert client.post("/audit", json={"message": "m"}).status_code == 200
    assert client.get("/items").json == ["a"]
    assert committed("item") == 0
    assert committed("audit_entry", "audit") == 0
""")
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_fixture_rows_are_seen_by_requests_and_survive_an_app_rollback(kind, strategy):
    result = kind.run(f"--testbed-strategy={strategy}", test_fixture_rows="""
import pytest
from kind import Item

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
""")
    result.assert_outcomes(passed=4)


SCOPED_DATA = """
import pytest
from kind import Item, names

@pytest.fixture(scope="session")
def everywhere(db):
    from kind import session
    session().add(Item(name="session-wide"))
    session().commit()

@pytest.fixture(scope="module")
def shelf(everywhere, db):
    from kind import session
    session().add(Item(name="module-wide"))
    session().commit()

class TestWithClassData:
    @pytest.fixture(scope="class", autouse=True)
    def crate(self, shelf):
        from kind import session
        session().add(Item(name="class-wide"))
        session().commit()

    def test_sees_all_three_and_writes(self, client):
        assert client.get("/items").json == ["class-wide", "module-wide", "session-wide"]
        assert client.post("/items", json={"name": "mine"}).status_code == 201

    def test_own_write_is_gone(self, client, db_session):
        assert names() == ["class-wide", "module-wide", "session-wide"]
        assert db_session.query(Item).count() == 3

def test_after_the_class(client, shelf):
    assert client.get("/items").json == ["module-wide", "session-wide"]
"""


def test_session_module_and_class_data_is_shared_and_gone_after(kind):
    result = kind.run(test_scoped=SCOPED_DATA, test_z_after="""
def test_only_the_session_data_is_left(client):
    assert client.get("/items").json == ["session-wide"]
""")
    result.assert_outcomes(passed=4)


def test_a_forgotten_commit_is_discarded_and_named(kind):
    result = kind.run("--testbed-uncommitted=error", test_forgetful="""
import pytest
from flask_testbed import UncommittedChangesError

def test_forgotten_commit(client):
    with pytest.raises(UncommittedChangesError, match="Item: 1 new"):
        client.post("/items/forgetful", json={"name": "lost"})
    assert client.get("/items").json == []
""")
    result.assert_outcomes(passed=1)


def test_query_counting(kind):
    result = kind.run(test_queries="""
def test_counts_the_app_statements(client, assert_num_queries, assert_max_queries):
    with assert_num_queries(1):
        client.get("/items")
    with assert_max_queries(10):
        client.post("/items", json={"name": "a"})
""")
    result.assert_outcomes(passed=1)


def test_a_leak_around_sqlalchemy_is_found(kind, backend):
    if backend == "sqlite":
        pytest.skip("the leak is written from a second connection of the driver's own")
    result = kind.run("--testbed-check-leaks", test_leak="""
from kind import engine
from flask_testbed.database.own_engines import keep_apart
import sqlalchemy as sa

def test_leaks(client):
    own = keep_apart(sa.create_engine(engine().url.render_as_string(hide_password=False)))
    with own.begin() as connection:
        connection.execute(sa.text("INSERT INTO item (name) VALUES ('leak')"))
    own.dispose()

def test_next_is_clean(client):
    assert client.get("/items").json == []
""")
    result.assert_outcomes(passed=2, errors=1)
    assert "leaked rows past the isolation (item: 1)" in result.stdout.str()


def test_xdist_workers_get_databases_of_their_own(kind):
    result = kind.run("-n", "2", subprocess=True, test_workers="""
import os
import pytest
from kind import engine, names

@pytest.mark.parametrize("n", range(4))
def test_worker(client, n):
    worker = os.environ["PYTEST_XDIST_WORKER"]
    assert worker in engine().url.database
    assert client.post("/items", json={"name": f"{worker}-{n}"}).status_code == 201
    assert names() == [f"{worker}-{n}"]
""")
    result.assert_outcomes(passed=4)


@pytest.fixture
def plain_on_its_own_url(pytester: pytest.Pytester, tmp_path) -> Kind:
    """The plain app on SQLite, its engine made on a file that is not a test database."""
    project = Kind(pytester, "plain", "unused", f"sqlite:///{tmp_path / 'audit-test.db'}")
    project.database_url = None
    project.env["SHOP_DATABASE_URL"] = f"sqlite:///{tmp_path / 'shop.db'}"
    return project


def test_a_plain_engine_made_while_the_app_loads_gets_a_test_database(plain_on_its_own_url,
                                                                       tmp_path):
    result = plain_on_its_own_url.run(test_url="""
from kind import engine

def test_engine_is_on_the_test_database(client):
    assert engine().url.database.endswith("test_shop.db")
    assert client.post("/items", json={"name": "a"}).status_code == 201
""")
    result.assert_outcomes(passed=1)
    assert not (tmp_path / "shop.db").exists()


def test_a_plain_engine_made_before_the_app_loads_is_refused(plain_on_its_own_url, tmp_path):
    from conftest import one_error_line

    result = plain_on_its_own_url.run(
        conftest="import plain  # makes the engine before the plugin loads the app\n",
        test_any="def test_any(client):\n    pass\n",
    )
    line = one_error_line(result)
    assert "testbed_engine is on" in line
    assert "made before the plugin loaded the app" in line
    assert not (tmp_path / "shop.db").exists()
    assert not (tmp_path / "test_shop.db").exists()


def test_a_plain_engine_made_early_on_a_relative_test_path_is_used(plain_on_its_own_url):
    """SQLite opens a relative path from the working directory: so does the plugin's check."""
    plain_on_its_own_url.env["SHOP_DATABASE_URL"] = "sqlite:///test_shop.db"
    result = plain_on_its_own_url.run(
        conftest="import plain  # makes the engine before the plugin loads the app\n",
        test_url="""
from kind import engine

def test_engine_is_the_early_one(client):
    assert engine().url.database == "test_shop.db"
    assert client.post("/items", json={"name": "a"}).status_code == 201
""",
    )
    result.assert_outcomes(passed=1)
    # The run made the file: the run dropped it.
    assert not (plain_on_its_own_url.pytester.path / "test_shop.db").exists()


def test_db_session_without_testbed_session_is_one_line(plain_on_its_own_url):
    plain_on_its_own_url.pytester.makeini(
        "[pytest]\ntestbed_app = plain:create_app\ntestbed_engine = plain:engine\n"
        "testbed_metadata = plain:Base.metadata\n"
    )
    result = plain_on_its_own_url.run(
        test_session="def test_session(db_session):\n    pass\n\n"
        "def test_client_alone(client):\n    assert client.get('/items').status_code == 200\n"
    )
    result.assert_outcomes(passed=1, errors=1)
    output = result.stdout.str()
    assert "db_session needs the app's session: set testbed_session = module:attr" in output
    assert "flask_testbed" not in output.split("short test summary")[0].split("ERROR at setup")[1]


def test_a_plain_app_without_metadata_is_told_what_to_set(plain_on_its_own_url):
    from conftest import one_error_line

    plain_on_its_own_url.pytester.makeini(
        "[pytest]\ntestbed_app = plain:create_app\ntestbed_engine = plain:engine\n"
    )
    result = plain_on_its_own_url.run(test_any="def test_any(client):\n    pass\n")
    assert "needs testbed_metadata too" in one_error_line(result)


def test_model_factories_write_through_the_test_session(kind):
    result = kind.run(test_made_by_factories="""
import factory
from kind import Item
from flask_testbed.factories import ModelFactory

class ItemFactory(ModelFactory):
    class Meta:
        model = Item

    name = factory.Sequence(lambda n: f"item-{n}")

def test_made_rows_are_seen_by_requests(client):
    ItemFactory.create_batch(2)
    assert client.get("/items").json == ["item-0", "item-1"]

def test_and_are_gone_after(client):
    assert client.get("/items").json == []
""")
    result.assert_outcomes(passed=2)


def test_a_lite_app_without_metadata_is_told_what_to_set(pytester: pytest.Pytester, tmp_path):
    from conftest import one_error_line

    project = Kind(pytester, "lite", f"sqlite:///{tmp_path / 'shop-test.db'}",
                   f"sqlite:///{tmp_path / 'audit-test.db'}")
    pytester.makeini("[pytest]\ntestbed_app = lite:create_app\n")
    line = one_error_line(project.run(test_any="def test_any(client):\n    pass\n"))
    assert "uses Flask-SQLAlchemy-Lite, which has no metadata of its own" in line
    assert "testbed_metadata" in line


#: the fast path of Flask-SQLAlchemy-Lite's private API, and its public path
LITE_STATE = "flask-sqlalchemy-lite-state"

LITE_PATH_TAKEN = """
import os

from flask import g
from sqlalchemy import func, select
from flask_testbed import fastpaths
from flask_testbed.integrations.lite import FAST_PATH, OWN_SESSIONS
from lite import ItemHistory, db

PUBLIC = os.environ.get(fastpaths.OFF_VARIABLE) == FAST_PATH


def test_the_path_taken(app, client, db_session):
    assert fastpaths.enabled(FAST_PATH) is not PUBLIC
    assert ("get_session" in vars(db)) is PUBLIC
    assert db_session is db.session is db.get_session()
    assert (OWN_SESSIONS in g) is PUBLIC
    assert ("_sqlalchemy_sessions" in g) is not PUBLIC
    with app.app_context():
        named = db.get_session("named")
        assert named is db.get_session("named") and named is not db_session
        named.execute(select(1))
        assert named.in_transaction()
        assert (OWN_SESSIONS in g) is PUBLIC
        assert ("_sqlalchemy_sessions" in g) is not PUBLIC
    assert not named.in_transaction()  # closed at the end of its context
    # The app's listener on db.sessionmaker still writes the history in the flush.
    assert client.post("/items", json={"name": "a"}).status_code == 201
    assert db_session.scalar(select(func.count()).select_from(ItemHistory)) == 1
"""

FORGETFUL = """
import pytest
from flask_testbed import UncommittedChangesError

def test_forgotten_commit(client):
    with pytest.raises(UncommittedChangesError, match="Item: 1 new"):
        client.post("/items/forgetful", json={"name": "lost"})
    assert client.get("/items").json == []
"""

SESSION_DATA_LEFT = """
def test_only_the_session_data_is_left(client):
    assert client.get("/items").json == ["session-wide"]
"""


@pytest.fixture
def lite(pytester: pytest.Pytester, database_url: str, audit_url: str) -> Kind:
    return Kind(pytester, "lite", database_url, audit_url)


def lite_path(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Lite fast path as the run finds it ("fast"), or forced off ("public")."""
    from flask_testbed import fastpaths

    if path == "public":
        monkeypatch.setenv(fastpaths.OFF_VARIABLE, LITE_STATE)
    else:
        monkeypatch.delenv(fastpaths.OFF_VARIABLE, raising=False)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("path", ["fast", "public"])
def test_lite_isolation_holds_on_the_fast_and_the_public_path(lite, monkeypatch, path, strategy):
    lite_path(path, monkeypatch)
    files = {"test_a_path": LITE_PATH_TAKEN, "test_b_paths": EVERY_PATH, "test_c_lost": FORGETFUL}
    if strategy == "transaction":  # session data under a wiping strategy is refused
        files.update(test_d_scoped=SCOPED_DATA, test_e_after=SESSION_DATA_LEFT)
    result = lite.run(
        f"--testbed-strategy={strategy}", "--testbed-check-leaks", "--testbed-uncommitted=error",
        "-W", "error::sqlalchemy.exc.SAWarning", **files,
    )
    result.assert_outcomes(passed=8 if strategy == "transaction" else 4)


BUILT_EARLY = """
import pytest
from lite import create_app

# Built at import, before the plugin sees it: its engines are made on the app's own URLs.
APP = create_app()
{served}

@pytest.fixture(scope="session")
def app():
    return APP
"""

ON_TEST_DATABASES = """
import os

from sqlalchemy import make_url
from conftest import APP
from kind import engine


def test_its_engines_are_made_again_on_the_test_databases(client):
    for name, variable in ((None, "SHOP_DATABASE_URL"), ("audit", "SHOP_AUDIT_URL")):
        assert engine(name).url != make_url(os.environ[variable])
        assert "test" in engine(name).url.database
    # init_app's registrations are not repeated.
    teardowns = [func.__name__ for func in APP.teardown_appcontext_funcs]
    assert teardowns.count("_close_sessions") == 1, teardowns
    shell = [func.__name__ for func in APP.shell_context_processors]
    assert shell.count("add_models_to_shell") == 1, shell
"""


@pytest.mark.parametrize("path", ["fast", "public"])
def test_a_lite_app_built_before_the_plugin_sees_it_gets_the_test_databases(
    lite, backend, monkeypatch, tmp_path, path
):
    from conftest import own

    lite_path(path, monkeypatch)
    lite.pytester.makeini(
        "[pytest]\ntestbed_metadata = lite:Base.metadata audit=lite:AuditBase.metadata\n"
    )
    # Neither is a test database: both engines are made again, on test databases of their own.
    lite.env["SHOP_DATABASE_URL"] = f"sqlite:///{tmp_path / 'shop.db'}"
    if backend == "sqlite":
        lite.env["SHOP_AUDIT_URL"] = f"sqlite:///{tmp_path / 'audit.db'}"
    else:
        audit = sa.make_url(lite.env["SHOP_AUDIT_URL"]).set(database=own("liteaudit"))
        lite.env["SHOP_AUDIT_URL"] = audit.render_as_string(hide_password=False)
    result = lite.run(
        "--testbed-check-leaks", "-W", "error::sqlalchemy.exc.SAWarning",
        conftest=BUILT_EARLY.format(served=""), test_a_path=LITE_PATH_TAKEN,
        test_b_paths=EVERY_PATH, test_c_urls=ON_TEST_DATABASES,
    )
    result.assert_outcomes(passed=4)
    assert not (tmp_path / "shop.db").exists()
    assert not (tmp_path / "audit.db").exists()


@pytest.mark.parametrize("backend", ["sqlite"])  # Flask's refusal is the same on every backend
def test_a_lite_app_that_served_a_request_before_the_plugin_is_told_what_to_do(
    lite, monkeypatch, tmp_path
):
    lite_path("public", monkeypatch)
    lite.pytester.makeini("[pytest]\ntestbed_metadata = lite:Base.metadata\n")
    lite.env["SHOP_DATABASE_URL"] = f"sqlite:///{tmp_path / 'shop.db'}"
    result = lite.run(
        conftest=BUILT_EARLY.format(served='APP.test_client().get("/nowhere")'),
        test_any="def test_any(client):\n    pass\n",
    )
    from conftest import one_error_line

    assert one_error_line(result) == (
        "ERROR: the app 'lite' served a request before the plugin could point its "
        "Flask-SQLAlchemy-Lite engines at the test databases, and Flask refuses to set it up "
        "again: build it in the factory testbed_app names or in the session-scoped app fixture "
        "itself, and send it no request before the tests do"
    )
    assert not (tmp_path / "shop.db").exists()


GUARDED = """
import threading
import time

import pytest
import sqlalchemy as sa
from kind import Item, engine, names, session

REFUSED = []


def late_write(target):
    time.sleep(0.3)
    try:
        with target.begin() as connection:
            connection.execute(sa.insert(Item.__table__).values(name="late"))
    except Exception as exc:
        REFUSED.append(str(exc))


def test_a_test_without_fixtures_is_refused_the_database():
    session().scalars(sa.select(Item)).all()


@pytest.mark.testbed
def test_the_marker_alone_grants_access():
    assert session().scalars(sa.select(Item)).all() == []


def test_1_starts_a_thread_it_does_not_join(client):
    threading.Thread(target=late_write, args=(engine(),)).start()


def test_2_runs_while_the_thread_writes(client):
    time.sleep(0.8)
    assert names() == []


def test_3_starts_clean(client):
    assert names() == []
    assert len(REFUSED) == 1, REFUSED
    assert "test_1_starts_a_thread_it_does_not_join" in REFUSED[0]
"""


def test_the_guards_hold_for_every_kind(kind):
    """The access blocker and the late-thread guard are the same whichever the app's kind."""
    result = kind.run(test_guarded=GUARDED)
    result.assert_outcomes(passed=4, failed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_2_runs_while_the_thread_writes*",
        "a thread started by test_guarded.py::test_1_starts_a_thread_it_does_not_join ran a "
        "statement after that test ended*",
    ])
    result.stdout.fnmatch_lines([
        "*DatabaseAccessBlocked: test_guarded.py::test_a_test_without_fixtures_is_refused_the_"
        "database reached the database without asking for it*",
    ])
