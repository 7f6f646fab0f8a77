"""Requests run as in production: an app context and a session of their own, in the sandbox."""

import pytest

STRATEGIES = ["transaction", "truncate"]

MISSING_COMMIT = """
import pytest
from flask_testbed import UncommittedChangesWarning
from shop import Item, db

def test_the_row_a_view_forgot_to_commit_is_gone(client):
    with pytest.warns(UncommittedChangesWarning) as caught:
        assert client.post("/items/forgetful", json={"name": "lost"}).json == ["lost"]
    assert client.get("/items").json == []
    assert db.session.query(Item).count() == 0
    message = str(caught[0].message)
    assert message.startswith(
        "POST /items/forgetful ended with uncommitted changes (Item: 1 new): "
        "they were discarded, as in production"
    ), message

def test_sql_a_view_forgot_to_commit_is_named_too(client):
    with pytest.warns(UncommittedChangesWarning, match="[(]SQL: 1 written[)]"):
        assert client.post("/items/forgetful-sql", json={"name": "lost"}).json == ["lost"]
    assert client.get("/items").json == []

def test_a_command_that_forgot_to_commit_is_named(client, runner):
    with pytest.warns(UncommittedChangesWarning, match="flask add-item-forgetful ended"):
        assert runner.invoke(args=["add-item-forgetful"]).exit_code == 0
    assert client.get("/items").json == []

def test_a_committing_view_is_not_named(client):
    assert client.post("/items", json={"name": "kept"}).status_code == 201
    assert client.get("/items").json == ["kept"]
"""


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_missing_commit_is_caught_and_named(shop, strategy):
    result = shop.run(
        f"--testbed-strategy={strategy}",
        "-W", "error::flask_testbed.UncommittedChangesWarning",
        test_missing_commit=MISSING_COMMIT,
    )
    result.assert_outcomes(passed=4)


def test_uncommitted_changes_can_fail_the_request_or_pass_unsaid(shop):
    error = shop.run(
        "-o", "testbed_uncommitted=error",
        test_error="""
import pytest
from flask_testbed import UncommittedChangesError

def test_the_request_fails(client):
    with pytest.raises(UncommittedChangesError, match="POST /items/forgetful ended"):
        client.post("/items/forgetful", json={"name": "lost"})
    assert client.get("/items").json == []
""",
    )
    error.assert_outcomes(passed=1)
    ignored = shop.run(
        "test_ignore.py",
        "-o", "testbed_uncommitted=ignore",
        "-W", "error::flask_testbed.UncommittedChangesWarning",
        test_ignore="""
def test_nothing_is_said(client):
    assert client.post("/items/forgetful", json={"name": "lost"}).status_code == 201
    assert client.get("/items").json == []
""",
    )
    ignored.assert_outcomes(passed=1)
    bad = shop.run(
        "test_bad.py", "-o", "testbed_uncommitted=loud", test_bad="def test_x(client): pass\n"
    )
    assert "unknown testbed_uncommitted 'loud': use warn, error or ignore" in bad.stderr.str()
    assert bad.ret == pytest.ExitCode.USAGE_ERROR


SESSION_BEGIN = """
import pytest
from shop import Item, db

@pytest.fixture
def bolt(db_session):
    item = Item(name="bolt")
    db_session.add(item)
    db_session.commit()
    return item

def test_a_begin_block_in_a_view_works_after_the_test_read(client, bolt):
    assert Item.query.count() == 1
    assert bolt.name == "bolt"
    response = client.post("/items/begin", json={"name": "nut"})
    assert response.status_code == 201, response.text
    assert response.json == ["bolt", "nut"]
    assert Item.query.count() == 2

def test_the_test_sees_what_a_request_committed_to_objects_it_holds(client, bolt):
    assert bolt.name == "bolt"
    assert client.post(f"/items/{bolt.id}/rename", json={"name": "screw"}).json == ["screw"]
    assert bolt.name == "screw"
    db.session.refresh(bolt)
    assert bolt.name == "screw"

def test_changes_the_test_has_not_flushed_are_kept_across_a_request(client, bolt):
    bolt.name = "mine"
    assert client.get("/items").json == ["bolt"]
    assert bolt.name == "mine"
    db.session.commit()
    assert client.get("/items").json == ["mine"]

def test_a_request_from_a_server_thread_leaves_the_test_s_session_alone(client, app, bolt):
    import threading

    def serve():
        answers.append(app.test_client().post("/items", json={"name": "threaded"}).json)

    answers = []
    worker = threading.Thread(target=serve)
    worker.start()
    worker.join()
    assert answers == [["bolt", "threaded"]]
    assert bolt.name == "bolt"
    assert Item.query.count() == 2

def test_nothing_left(client):
    assert client.get("/items").json == []
"""


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_request_has_its_own_session(shop, strategy):
    result = shop.run(f"--testbed-strategy={strategy}", test_begin=SESSION_BEGIN)
    result.assert_outcomes(passed=5)


CONTEXTS = """
import flask
import pytest
from shop import Item, db

@pytest.fixture(scope="module")
def seed(app, db):
    db.session.add(Item(name="seed"))
    db.session.commit()
    return db.session

def test_g_is_per_request(client):
    flask.g.from_test = 1
    assert client.get("/g").json == []
    assert client.get("/g").json == []
    assert flask.g.from_test == 1

def test_g_is_per_test(client):
    assert "from_test" not in flask.g
    assert "visited" not in flask.g

def test_module_data_is_usable_in_the_test_s_session(client, seed):
    item = db.session.query(Item).one()
    assert item in seed
    db.session.delete(item)  # no "already attached to another session"
    assert item in db.session.deleted
    db.session.rollback()

def test_with_client_keeps_the_last_request_for_inspection(client, app):
    assert client.application is app
    with client:
        client.get("/items?page=2")
        assert flask.request.path == "/items"
        assert flask.request.args["page"] == "2"
    with client as again:
        assert again.get("/g").json == []
    assert not flask.has_request_context()

def test_a_module_client_too(client_module):
    with client_module:
        client_module.get("/items")
        assert flask.request.path == "/items"
"""


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_test_and_each_request_run_in_app_contexts_of_their_own(shop, strategy):
    result = shop.run(f"--testbed-strategy={strategy}", test_contexts=CONTEXTS)
    result.assert_outcomes(passed=5)


LEFT_PUSHED = """
import pytest
from shop import Item, db

@pytest.fixture(scope="module")
def lamp(app, db):
    item = Item(name="lamp")
    db.session.add(item)
    db.session.commit()
    return item

def test_leaves_contexts_pushed(client, app, lamp):
    app.test_request_context("/left").push()
    app.app_context().push()
    assert lamp.name == "lamp"

def test_module_data_is_still_attached(client, lamp):
    assert lamp.name == "lamp"
    assert lamp in db.session
    assert client.get("/items").json == ["lamp"]
"""


def test_contexts_a_test_left_pushed_are_popped_and_module_data_stays_usable(shop):
    shop.run(test_left=LEFT_PUSHED).assert_outcomes(passed=2)


VERSIONED_APP = """
import os

import sqlalchemy as sa
from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy_continuum import make_versioned, version_class

make_versioned(user_cls=None)
db = SQLAlchemy()


class Article(db.Model):
    __versioned__ = {}
    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(50), nullable=False)


sa.orm.configure_mappers()
ArticleVersion = version_class(Article)


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("VERSIONED_URL", "sqlite://")
    db.init_app(app)

    @app.post("/articles")
    def add():
        article = Article(title=request.json["title"])
        db.session.add(article)
        db.session.commit()
        return jsonify(id=article.id), 201

    @app.post("/articles/<int:article_id>")
    def edit(article_id):
        db.session.get(Article, article_id).title = request.json["title"]
        db.session.commit()
        return jsonify(versions=db.session.query(ArticleVersion).count())

    @app.post("/articles/failing")
    def add_and_roll_back():
        db.session.add(Article(title=request.json["title"]))
        db.session.flush()
        db.session.rollback()
        return jsonify(count=db.session.query(Article).count())

    return app
"""

VERSIONED_TESTS = """
from versioned import Article, ArticleVersion, db

def test_versions_are_written_through_a_second_session(client):
    article_id = client.post("/articles", json={"title": "one"}).json["id"]
    assert client.post(f"/articles/{article_id}", json={"title": "two"}).json == {"versions": 2}
    assert client.post("/articles/failing", json={"title": "gone"}).json == {"count": 1}
    assert db.session.query(ArticleVersion).count() == 2

def test_the_test_itself_writes_versions(db_session):
    db_session.add(Article(title="direct"))
    db_session.commit()
    assert db_session.query(ArticleVersion).count() == 1

def test_nothing_left(client, db_session):
    assert db_session.query(Article).count() == 0
    assert db_session.query(ArticleVersion).count() == 0
"""


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_second_session_on_the_same_connection_runs_warning_free(
    pytester, backend, database_url, strategy
):
    # SQLAlchemy-Continuum writes versions through a Session(bind=connection) of
    # its own, and listens on every Session: a process of its own.
    pytester.makepyfile(versioned=VERSIONED_APP, test_versioned=VERSIONED_TESTS)
    pytester.makeini("[pytest]\ntestbed_app = versioned:create_app\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VERSIONED_URL", database_url)
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "-W", "error", f"--testbed-strategy={strategy}"
        )
    result.assert_outcomes(passed=3)
