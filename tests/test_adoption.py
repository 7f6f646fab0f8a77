"""Installing the plugin changes nothing for a suite that does not use it, and adopts one that does.

A suite with an ``app`` fixture of its own: function- or module-scoped, it is
left alone (the plugin says once how to adopt it); session-scoped, it gets the
test databases ``testbed_app`` would give it, also under pytest-xdist.
"""

import pytest
import sqlalchemy as sa
from conftest import exists, one_error_line, own

#: a suite written without the plugin: its own app, client and db fixtures, nothing configured
OWN_FIXTURES = """
import pytest
from shop import Item, create_app, db as shop_db

@pytest.fixture{scope}
def app():
    app = create_app()
    app.config["TESTING"] = True
    with app.app_context():
        shop_db.create_all()
        yield app
        shop_db.session.remove()
        shop_db.drop_all()

@pytest.fixture
def client(app):
    return app.test_client()

@pytest.fixture
def db(app):
    return shop_db
"""

OWN_TESTS = """
from shop import Item, names

def test_writes_through_its_own_client(client, db):
    assert client.post("/items", json={{"name": "a"}}).status_code == 201
    assert names() == ["a"]

def test_its_own_data_{scope_name}(client, db):
    db.session.add(Item(name="b"))
    db.session.commit()
    assert len(names()) == {expected}
"""

ADOPT = (  # keep in step with flask_testbed.adoption.ADOPT
    "flask-testbed: not active: the app fixture is not session-scoped and testbed_app is not "
    "set; to isolate database tests, set testbed_app = module:create_app in the pytest ini, or "
    "make the app fixture session-scoped"
)


@pytest.mark.parametrize("backend", ["sqlite"])  # the plugin stays out: the suite's own database
def test_a_suite_with_its_own_narrow_app_fixture_runs_as_before(shop, pytester, monkeypatch):
    pytester.makeini("[pytest]\n")
    shop.database_url = None  # nothing configured, not even on the command line
    monkeypatch.setenv("SHOP_DATABASE_URL", "sqlite://")
    for scope, expected in (("", 1), ("(scope='module')", 2)):
        name = "function" if not scope else "module"
        directory = pytester.mkpydir(f"suite_{name}")
        (directory / "conftest.py").write_text(OWN_FIXTURES.format(scope=scope))
        (directory / f"test_{name}.py").write_text(
            OWN_TESTS.format(scope_name=name, expected=expected)
        )
    result = shop.run("-rA")
    result.assert_outcomes(passed=4)
    output = result.stdout.str()
    assert "ScopeMismatch" not in output and "_testbed" not in output
    assert output.count(ADOPT) == 1, output


SESSION_APP = """
import pytest
from shop import create_app, db

@pytest.fixture(scope="session")
def app():
    app = create_app()
    with app.app_context():
        db.create_all()  # as many factories do: the schema, on whatever the config names
    return app
"""

REDIRECTED = """
import os
from shop import db, names

def test_1_writes(client):
    client.post("/items", json={"name": "a"})
    assert names() == ["a"]

def test_2_on_a_test_database_of_its_own(client):
    assert names() == []
    url = db.engine.url
    name = os.path.basename(url.database) if url.get_backend_name() == "sqlite" else url.database
    assert name.startswith("test_shopdev"), name
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    assert worker is None or name.removesuffix(".db").endswith(worker), name
"""


@pytest.fixture
def development_url(backend, database_url, tmp_path):
    """A database named as a development one: no test run may create or touch it."""
    url = sa.make_url(database_url)
    if backend == "sqlite":
        return url.set(database=str(tmp_path / "shopdev.db"))
    return url.set(database=own("shopdev"))


@pytest.mark.parametrize("xdist", [False, True], ids=["one-process", "xdist"])
def test_a_session_scoped_app_fixture_is_built_on_test_databases(
    shop, pytester, development_url, xdist
):
    pytester.makeini("[pytest]\n")
    pytester.makeconftest(SESSION_APP)
    shop.database_url = None  # the app's own config names the database
    shop.env["SHOP_DATABASE_URL"] = development_url.render_as_string(hide_password=False)
    assert not exists(development_url)
    if xdist:
        result = shop.run_subprocess("-n", "2", "-p", "no:randomly", test_redirected=REDIRECTED)
    else:
        result = shop.run(test_redirected=REDIRECTED)
    result.assert_outcomes(passed=2)
    assert not exists(development_url)
    test_name = development_url.database.replace("shopdev", "test_shopdev")
    test_url = development_url.set(database=test_name)
    assert not exists(test_url)  # made by the run, and dropped at its end


@pytest.mark.parametrize("backend", ["sqlite"])  # which fixture applies: no database involved
def test_without_pytests_fixture_lookup_a_session_app_fixture_is_adopted_as_before(
    shop, pytester, monkeypatch
):
    # Force the fallback: pytest without the private attribute the lookup reads.
    monkeypatch.setattr("flask_testbed.adoption.FIXTURE_INFO", "no_such_attribute")
    pytester.makeini("[pytest]\n")
    pytester.makeconftest(SESSION_APP)
    result = shop.run(test_redirected=REDIRECTED.replace("test_shopdev", "shop-test"))
    result.assert_outcomes(passed=2)
    assert ADOPT not in result.stdout.str()


@pytest.mark.parametrize("backend", ["sqlite"])  # refused before any database is used
def test_a_refused_database_of_a_session_app_fixture_is_one_line_under_xdist(shop, pytester):
    pytester.makeini("[pytest]\n")
    pytester.makeconftest(SESSION_APP)
    shop.database_url = None
    shop.env["SHOP_DATABASE_URL"] = "postgresql+psycopg://app:p@ss@127.0.0.1:1/shop"
    result = shop.run_subprocess("-n", "2", "-p", "no:randomly", test_redirected=REDIRECTED)
    line = one_error_line(result)
    assert "unescaped" in line and "p@ss" not in result.stdout.str() + result.stderr.str(), line
