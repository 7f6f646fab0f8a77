"""The approaches the benchmark compares, and what each writes into the generated project.

Approaches 1-3 are conftests a user writes by hand; they run with the plugin
disabled (``-p no:flask_testbed``). Approach 4 is the plugin itself, with only
``testbed_app`` in the ini, the way its README tells users to set it up.
"""

from __future__ import annotations

from dataclasses import dataclass

FLOOR_CONFTEST = '''\
"""No isolation at all: the floor. Tables are created once; nothing is ever cleaned."""

import pytest

from benchapp import create_app, db


@pytest.fixture(scope="session")
def app():
    app = create_app()
    with app.app_context():
        db.drop_all()
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()


@pytest.fixture
def client(app):
    with app.test_client() as client:
        yield client
'''

PRODUCTION_CONFTEST = FLOOR_CONFTEST.replace(
    "import pytest\n", "import contextvars\n\nimport pytest\n"
) + '''

@pytest.fixture(scope="session", autouse=True)
def _requests_in_own_context(app):
    """As a server runs them: each request in an app context (so a session) of its own."""
    inner = app.wsgi_app
    app.wsgi_app = lambda environ, start: contextvars.Context().run(inner, environ, start)
    yield
    app.wsgi_app = inner
'''

PRODUCTION_LITE_CONFTEST = '''\
"""The production floor for the Flask-SQLAlchemy-Lite app: no isolation, a context per request."""

import contextvars

import pytest

from benchapp import Base, create_app, db


@pytest.fixture(scope="session")
def app():
    app = create_app()
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
        yield app
        db.session.close()
        Base.metadata.drop_all(db.engine)


@pytest.fixture(scope="session", autouse=True)
def _requests_in_own_context(app):
    """As a server runs them: each request in an app context (so a session) of its own."""
    inner = app.wsgi_app
    app.wsgi_app = lambda environ, start: contextvars.Context().run(inner, environ, start)
    yield
    app.wsgi_app = inner


@pytest.fixture
def client(app):
    with app.test_client() as client:
        yield client
'''

SEED_001_CONFTEST = '''\
"""Seed 001's fixtures as its document writes them: drop and recreate every table per test.

``test_app`` pushes an app context and resets the schema once; the client
fixture (the document's ``test_client``, named ``client`` here so that every
approach runs the same suite) pushes a fresh app context, resets the schema
again, and hands out a test client.
"""

import pytest

from benchapp import create_app, db


def _reset_db():
    """Drop and recreate all tables with foreign-key checks disabled."""
    with db.engine.begin() as connection:
        mysql = connection.dialect.name in ("mysql", "mariadb")
        if mysql:
            connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
        db.metadata.drop_all(connection)
        db.metadata.create_all(connection)
        if mysql:
            connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")


@pytest.fixture(scope="session")
def test_app():
    app = create_app()
    with app.app_context():
        _reset_db()
        yield app


@pytest.fixture(scope="function")
def client(test_app):
    with test_app.app_context():
        _reset_db()
        with test_app.test_client() as client:
            yield client
'''

SEED_000_CONFTEST = '''\
"""Seed 000's conftest (one outer transaction per test), made to work on Flask-SQLAlchemy 3.

``db.create_scoped_session`` is gone, and Flask-SQLAlchemy's own Session
ignores ``bind=``, so the closest correct form is: one connection, an outer
transaction on it, and a plain SQLAlchemy session bound to that connection
with ``join_transaction_mode="create_savepoint"`` (the app's commit is a
RELEASE, its rollback a ROLLBACK TO), installed as ``db.session``. On SQLite
it also needs SQLAlchemy's documented pysqlite fix, or savepoints commit.
"""

import pytest
from sqlalchemy import event
from sqlalchemy.orm import scoped_session, sessionmaker

from benchapp import create_app, db


def _fix_pysqlite(engine):
    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection, record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN")

    engine.dispose()


@pytest.fixture(scope="session")
def app():
    app = create_app()
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _fix_pysqlite(db.engine)
        yield app


@pytest.fixture(scope="session")
def _db(app):
    db.drop_all()
    db.create_all()
    yield db
    db.drop_all()


@pytest.fixture(scope="function", autouse=True)
def session(_db):
    connection = _db.engine.connect()
    transaction = connection.begin()
    session = scoped_session(
        sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    )
    original, _db.session = _db.session, session
    yield session
    session.remove()
    transaction.rollback()
    connection.close()
    _db.session = original


@pytest.fixture
def client(app):
    with app.test_client() as client:
        yield client
'''

BASE_INI = "[pytest]\ntestpaths = tests\n"
PLUGIN_INI = BASE_INI + "testbed_app = benchapp:create_app\n"
#: Flask-SQLAlchemy-Lite has no metadata of its own: the ini names the models'
LITE_INI = PLUGIN_INI + "testbed_metadata = benchapp:Base.metadata\n"

#: options of the plugin that other issues add; variants needing them wait for them
LEAK_CHECK_OPTION = "--testbed-check-leaks"
REUSE_DB_OPTIONS = ("--reuse-db", "--testbed-reuse-db")


@dataclass(frozen=True)
class Approach:
    """One way of isolating the suite.

    ``conftest`` is None for the plugin's runs. ``option`` names a plugin
    option the approach needs: when the installed plugin does not know it, the
    approach is skipped with a note. A ``slow`` approach rebuilds the schema
    per test, so it runs fewer tests (its cost per test is what matters).
    """

    key: str
    label: str
    conftest: str | None = None
    strategy: str | None = None
    option: str | None = None
    isolated: bool = True
    slow: bool = False
    #: the extension the synthetic app is built on (see benchmarks.synth.KINDS)
    app: str = "flask_sqlalchemy"

    @property
    def uses_plugin(self) -> bool:
        return self.conftest is None

    @property
    def ini(self) -> str:
        if not self.uses_plugin:
            return BASE_INI
        return LITE_INI if self.app == "lite" else PLUGIN_INI

    def pytest_args(self, database_url: str) -> list[str]:
        """Arguments that select this approach (the common ones are the runner's)."""
        if not self.uses_plugin:
            return ["-p", "no:flask_testbed"]
        args = [f"--testbed-db-url={database_url}", f"--testbed-strategy={self.strategy}"]
        if self.option:
            args.append(self.option)
        return args


FLOOR = Approach("none", "no isolation (floor)", FLOOR_CONFTEST, isolated=False)
#: the floor whose requests each have an app context of their own, as behind a server
PRODUCTION = Approach(
    "production", "no isolation, requests as in production", PRODUCTION_CONFTEST, isolated=False
)
#: the same for the Flask-SQLAlchemy-Lite app (its teardowns cost what they cost in production)
PRODUCTION_LITE = Approach(
    "production-lite",
    "no isolation, requests as in production, Flask-SQLAlchemy-Lite app",
    PRODUCTION_LITE_CONFTEST,
    isolated=False,
    app="lite",
)
SEED_001 = Approach("seed001", "seed 001: drop + create all tables", SEED_001_CONFTEST, slow=True)
SEED_000 = Approach("seed000", "seed 000: outer transaction (hand-written)", SEED_000_CONFTEST)

APPROACHES: dict[str, Approach] = {
    a.key: a
    for a in (
        FLOOR,
        SEED_001,
        SEED_000,
        Approach("transaction", "testbed transaction", strategy="transaction"),
        Approach("truncate", "testbed truncate", strategy="truncate"),
        Approach("recreate", "testbed recreate", strategy="recreate", slow=True),
        Approach(
            "lite",
            "testbed transaction, Flask-SQLAlchemy-Lite app",
            strategy="transaction",
            app="lite",
        ),
        Approach(
            "leakcheck",
            "testbed transaction + leak check",
            strategy="transaction",
            option=LEAK_CHECK_OPTION,
        ),
    )
}
