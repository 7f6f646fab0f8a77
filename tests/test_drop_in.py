"""What existing suites need to switch without rewriting their tests."""

import pytest
from test_isolation import STRATEGIES

IDS_FROM_ONE = """
import pytest
from shop import Item, db

pytestmark = pytest.mark.testbed(reset_sequences=True)

def test_1_first_id_is_one(client):
    client.post("/items", json={"name": "a"})
    client.post("/items", json={"name": "b"})
    assert sorted(i.id for i in Item.query) == [1, 2]

def test_2_ids_start_over(client):
    client.post("/items", json={"name": "c"})
    assert [i.id for i in Item.query] == [1]
"""


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_reset_sequences_gives_ids_from_one_in_every_test(shop, strategy):
    result = shop.run(f"--testbed-strategy={strategy}", test_ids=IDS_FROM_ONE)
    result.assert_outcomes(passed=2)


def test_without_reset_sequences_ids_keep_growing_on_servers(shop, backend):
    result = shop.run(test_ids=IDS_FROM_ONE.replace("reset_sequences=True", ""))
    if backend == "sqlite":
        result.assert_outcomes(passed=2)  # SQLite reuses max(id) + 1 by itself
    else:
        result.assert_outcomes(passed=1, failed=1)


def test_reset_sequences_from_the_ini_continues_after_module_data(shop, backend):
    shop.pytester.makeini(
        "[pytest]\ntestbed_app = shop:create_app\ntestbed_reset_sequences = true\n"
    )
    result = shop.run(
        test_ids="""
import pytest
from shop import Item, db

@pytest.fixture(scope="module")
def existing(app):
    db.session.add(Item(name="module"))
    db.session.commit()

def test_first(client, existing):
    client.post("/items", json={"name": "a"})
    assert sorted(i.id for i in Item.query) == [1, 2]

def test_second(client, existing):
    client.post("/items", json={"name": "b"})
    assert sorted(i.id for i in Item.query) == [1, 2]
"""
    )
    if backend == "mariadb":
        # ALTER TABLE would commit the module's rows: refused, with the reason.
        result.assert_outcomes(errors=2)
        result.stdout.fnmatch_lines(
            ["*reset_sequences on MySQL/MariaDB restarts AUTO_INCREMENT with ALTER TABLE, "
             "which commits*strategy='truncate'*"]
        )
    else:
        result.assert_outcomes(passed=2)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_config_changes_are_undone_and_the_marker_sets_config(shop, strategy):
    result = shop.run(
        f"--testbed-strategy={strategy}",
        test_config="""
import pytest

def test_1_changes_config(app, client):
    app.config["CAPTCHA"] = "on"
    assert client.get("/config/CAPTCHA").json == {"value": "on"}

def test_2_sees_the_original(client):
    assert client.get("/config/CAPTCHA").json == {"value": None}

@pytest.mark.testbed(config={"CAPTCHA": "strict", "TESTING": False})
class TestWithCaptcha:
    def test_sees_marker_config(self, app, client):
        assert client.get("/config/CAPTCHA").json == {"value": "strict"}
        assert app.config["TESTING"] is False

def test_3_back_to_normal(app, client):
    assert client.get("/config/CAPTCHA").json == {"value": None}
    assert app.config["TESTING"] is True
""",
    )
    result.assert_outcomes(passed=4)


def test_bad_marker_arguments_are_usage_errors(shop):
    result = shop.run(
        test_bad="import pytest\n"
        "@pytest.mark.testbed(strategy='truncate', reset_ids=True)\n"
        "def test_x(client):\n    pass\n"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: unknown argument reset_ids in @pytest.mark.testbed on test_bad.py::test_x: "
         "use strategy=, reset_sequences=, config="]
    )


def test_a_suite_keeps_its_own_fixture_names(shop):
    """A few lines of conftest.py map an existing suite's names onto the plugin's."""
    shop.pytester.makeconftest(
        """
import pytest
import webtest

@pytest.fixture(scope="session")
def application(app):
    return app

@pytest.fixture
def database(db_session):
    return db_session

@pytest.fixture
def testapp(application, database):
    return webtest.TestApp(application)
"""
    )
    result = shop.run(
        test_names="""
import pytest
from shop import Item

def test_webtest_and_database(testapp, database):
    testapp.post_json("/items", {"name": "via-webtest"}, status=201)
    assert [i.name for i in database.query(Item)] == ["via-webtest"]

class TestClassBased:
    @pytest.fixture(autouse=True)
    def _attach(self, application, client):
        self.app = application
        self.client = client

    def test_uses_self(self):
        assert self.client.get("/items").json == []
        self.client.post("/items", json={"name": "x"})
        assert self.app.config["TESTING"] is True

    def test_isolated_from_the_previous(self):
        assert self.client.get("/items").json == []
""",
    )
    result.assert_outcomes(passed=3)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_legacy_session_replacement_signals_and_versioning(shop, strategy):
    result = shop.run(
        f"--testbed-strategy={strategy}",
        "--testbed-app-config=track",
        test_legacy="""
import pytest
from flask_sqlalchemy.track_modifications import models_committed
from shop import Item, ItemHistory, db

@pytest.fixture
def own_session(app):
    # What seed 000's conftest did: replace db.session with a scoped session of its own.
    original = db.session
    db.session = db._make_scoped_session({})
    yield db.session
    db.session.remove()
    db.session = original

def test_1_writes_through_a_replaced_session(client, own_session):
    own_session.add(Item(name="legacy"))
    own_session.commit()
    assert client.get("/items").json == ["legacy"]

def test_2_signal_and_history(client, app):
    seen = []
    def receiver(sender, changes):
        seen.extend((obj.name, op) for obj, op in changes)
    models_committed.connect(receiver, app)
    try:
        client.post("/items", json={"name": "signalled"})
    finally:
        models_committed.disconnect(receiver, app)
    assert seen == [("signalled", "insert")]
    assert [h.item_name for h in ItemHistory.query] == ["signalled"]

def test_3_nothing_left(client):
    assert client.get("/items").json == []
    assert ItemHistory.query.count() == 0
""",
    )
    result.assert_outcomes(passed=3)
