"""The plugin never creates, empties or drops anything in a database that is not a test one."""

import pytest
import sqlalchemy as sa
from conftest import create_database, database_exists, own, server_url

SIMPLE_TEST = "def test_uses_db(client):\n    assert client.get('/items').json == []\n"


@pytest.fixture(params=["postgresql", "mariadb"])
def production_url(request):
    """A server database whose name lacks 'test', holding a canary row, with a password."""
    url = sa.make_url(server_url(request.param)).set(database=own("canary_shop"))
    create_database(url)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS item")
        connection.exec_driver_sql("DROP TABLE IF EXISTS testbed_canary")
        connection.exec_driver_sql("CREATE TABLE testbed_canary (id INTEGER PRIMARY KEY)")
        connection.exec_driver_sql("INSERT INTO testbed_canary (id) VALUES (1)")
    yield url
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS testbed_canary")
    engine.dispose()


def _state(url):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT id FROM testbed_canary").scalars().all()
            return rows, sa.inspect(connection).has_table("item")
    finally:
        engine.dispose()


def _shop(pytester, url):
    from conftest import Shop

    plain = url.render_as_string(hide_password=False)
    return Shop(pytester, plain, plain)


def test_refuses_a_database_without_test_in_its_name(pytester, production_url):
    result = _shop(pytester, production_url.set(password="s3cret-pw")).run(
        test_refused=SIMPLE_TEST
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, output
    assert "refusing to use" in errors[0]
    assert f"/{production_url.database}" in errors[0]
    assert "testbed_allow_any_database" in errors[0]
    assert "s3cret-pw" not in output
    assert "Traceback" not in output
    assert _state(production_url) == ([1], False)


def test_allow_any_database_opts_out(pytester, production_url):
    shop = _shop(pytester, production_url)
    shop.pytester.makeini(
        "[pytest]\ntestbed_app = shop:create_app\ntestbed_allow_any_database = true\n"
    )
    result = shop.run(test_allowed=SIMPLE_TEST)
    result.assert_outcomes(passed=1)
    # The run's own tables are gone again; what was there before is untouched.
    assert _state(production_url) == ([1], False)


def test_a_factory_that_creates_tables_itself_reaches_only_the_test_database(
    pytester, production_url
):
    """A URL from the app's own config becomes test_<name>, before the factory's create_all."""
    url = production_url.render_as_string(hide_password=False)
    pytester.makepyfile(
        eager=(
            "from flask import Flask\n"
            "from flask_sqlalchemy import SQLAlchemy\n"
            "db = SQLAlchemy()\n"
            "class Item(db.Model):\n"
            "    id = db.Column(db.Integer, primary_key=True)\n"
            "def create_app():\n"
            "    app = Flask(__name__)\n"
            f"    app.config['SQLALCHEMY_DATABASE_URI'] = {url!r}\n"
            "    db.init_app(app)\n"
            "    with app.app_context():\n"
            "        db.create_all()\n"
            "    return app\n"
        ),
        test_eager=(
            "from eager import db\n"
            "def test_uses_the_test_database(db_session):\n"
            f"    assert db.engine.url.database == 'test_{production_url.database}'\n"
        ),
    )
    pytester.makeini("[pytest]\ntestbed_app = eager:create_app\n")
    pytester.syspathinsert()
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert _state(production_url) == ([1], False)
    # The run created test_<name> and dropped it again.
    assert not database_exists(production_url.set(database=f"test_{production_url.database}"))


@pytest.mark.parametrize(
    "name, accepted",
    [
        ("test", True),
        ("test_shop", True),
        ("shop_test", True),
        ("shop-test-2", True),
        ("testing", True),
        ("tests", True),
        ("shop_test_gw1", True),
        ("TestShop", True),
        ("shop.test", True),
        ("contest", False),
        ("latest_prod", False),
        ("testimonials", False),
        ("attestation", False),
        ("shoptest", False),
        ("Testimonials", False),
        ("production", False),
    ],
)
def test_a_test_name_holds_test_as_a_word(name, accepted):
    from flask_testbed.database.urls import is_test_database

    assert is_test_database(f"postgresql://u:p@host/{name}") is accepted
    assert is_test_database(f"sqlite:////srv/data/{name}.db") is accepted


@pytest.mark.parametrize(
    "url, accepted",
    [
        ("sqlite://", True),
        ("sqlite:///:memory:", True),
        ("sqlite:///dev.db", False),
        ("sqlite:////tests/dev.db", False),  # the file's own name counts, not its folder's
        ("sqlite:///instance/test.db", True),
        ("mysql+pymysql://root@host/production", False),
    ],
)
def test_what_counts_as_a_test_database(url, accepted):
    from flask_testbed.database.urls import is_test_database

    assert is_test_database(url) is accepted


def test_masked_url_never_shows_the_password():
    from flask_testbed.database.urls import masked

    shown = masked("postgresql://alice:hunter2@db.example/shop_test")
    assert "hunter2" not in shown
    assert shown == "postgresql://alice:***@db.example/shop_test"
