"""flask_testbed.factories: factories write through the test's session, at any scope."""

import pytest
from conftest import APPS


@pytest.fixture
def shop(shop, backend):
    # backend named here too: pytest before 9 does not parametrize a test through
    # a fixture that overrides one of the same name (shop -> database_url -> backend).
    shop.pytester.makepyfile(shop_factories=(APPS / "shop_factories.py").read_text())
    return shop


@pytest.mark.parametrize(("strategy", "committed"), [("transaction", 0), ("truncate", 1)])
def test_function_scope_objects_are_usable_and_undone(shop, strategy, committed):
    result = shop.run(
        f"--testbed-strategy={strategy}",
        test_function_scope=f"""
import pytest
from probe import committed
from shop import db, names
from shop_factories import ItemFactory, TagFactory

@pytest.fixture
def chair(db_session):
    return ItemFactory(name="chair")

def test_object_from_a_fixture_is_attached_and_seen_by_requests(client, chair):
    assert chair in db.session
    assert chair.name == "chair"
    assert client.get("/items").json == ["chair"]
    assert committed("item") == {committed}

def test_factory_rows_survive_the_apps_rollback(client, chair):
    # Committed, not only flushed: the app's rollback after its IntegrityError
    # undoes its own insert, not the factory's rows.
    ItemFactory.create_batch(2)
    assert client.post("/items", json={{"name": "chair"}}).status_code == 409
    assert len(names()) == 3

def test_subfactory_builds_the_parent_row(db_session):
    tag = TagFactory(label="red")
    assert tag.item_id is not None
    assert len(names()) == 1

def test_nothing_is_left(client):
    assert names() == []
""",
    )
    result.assert_outcomes(passed=4)


def test_module_and_session_scoped_objects_are_restored_after_each_test(shop):
    result = shop.run(
        conftest="""
import pytest
from shop_factories import ItemFactory

@pytest.fixture(scope="session")
def catalogue(app):
    return ItemFactory(name="catalogue")
""",
        test_a_module="""
import pytest
from shop import Item, db, names
from shop_factories import ItemFactory

@pytest.fixture(scope="module")
def stock(app, catalogue):
    return [ItemFactory(name="desk"), ItemFactory(name="lamp")]

def test_changes_module_and_session_objects(client, stock, catalogue):
    assert names() == ["catalogue", "desk", "lamp"]
    stock[0].name = "renamed"
    db.session.delete(stock[1])
    db.session.delete(catalogue)
    db.session.commit()
    ItemFactory(name="extra")
    assert names() == ["extra", "renamed"]

def test_objects_are_back_as_they_were_and_usable(client, stock, catalogue):
    assert names() == ["catalogue", "desk", "lamp"]
    assert [item.name for item in stock] == ["desk", "lamp"]
    assert catalogue.name == "catalogue"
""",
        test_b_next_module="""
from shop import names

def test_only_session_data_is_left(client, catalogue):
    assert names() == ["catalogue"]
""",
    )
    result.assert_outcomes(passed=3)


def test_pytest_factoryboy_register(shop):
    result = shop.run(
        conftest="""
from pytest_factoryboy import register
from shop_factories import ItemFactory, TagFactory

register(ItemFactory)
register(TagFactory)
""",
        test_registered="""
import pytest
from probe import committed
from shop import names

def test_model_fixture_alone_is_an_isolated_database_test(item):
    # No plugin fixture asked for: the factory's own dependency on
    # db_session makes this a database test.
    assert names() == [item.name]
    assert committed("item") == 0

def test_previous_test_left_nothing(db_session):
    assert names() == []

def test_subfactory_uses_the_tests_item(tag, item):
    assert tag.item_id == item.id
    assert names() == [item.name]

@pytest.mark.parametrize("item__name", ["custom"])
def test_attribute_override(client, item):
    assert client.get("/items").json == ["custom"]

def test_factory_fixture_creates_more(item_factory, db_session):
    item_factory.create_batch(3)
    assert len(names()) == 3
""",
    )
    result.assert_outcomes(passed=5)


def test_factory_outside_an_app_context_says_what_to_do(shop):
    result = shop.run(
        test_no_app="""
import pytest
from shop_factories import ItemFactory

def test_no_app_context_yet():
    with pytest.raises(RuntimeError, match="needs an app context"):
        ItemFactory()
"""
    )
    result.assert_outcomes(passed=1)
