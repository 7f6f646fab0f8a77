"""flask_testbed.detach: a snapshot of an object that outlives changes to its row."""


def test_detach(shop):
    result = shop.run(
        test_snapshots="""
import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm.exc import DetachedInstanceError, ObjectDeletedError

from flask_testbed import detach
from shop import Item, db

@pytest.fixture
def chair(db_session):
    item = Item(name="chair")
    db_session.add(item)
    db_session.commit()
    return item

def test_snapshot_keeps_its_values_when_the_row_changes(client, chair):
    snapshot = detach(chair)
    db.session.execute(update(Item).values(name="sofa"))
    db.session.commit()
    assert snapshot.name == "chair"
    assert db.session.get(Item, snapshot.id).name == "sofa"

def test_snapshot_outlives_the_row(db_session, chair):
    snapshot = detach(chair)
    db_session.execute(delete(Item))
    db_session.commit()
    assert (snapshot.id, snapshot.name) == (chair.id, "chair")

def test_an_attached_object_follows_its_row(db_session, chair):
    db_session.execute(delete(Item))
    db_session.commit()
    with pytest.raises(ObjectDeletedError):
        chair.name

def test_a_bare_expunge_after_commit_is_unusable(db_session, chair):
    db_session.expunge(chair)
    with pytest.raises(DetachedInstanceError):
        chair.name

def test_objects_without_a_row_are_refused(db_session):
    with pytest.raises(ValueError, match="no row yet"):
        detach(Item(name="transient"))
    pending = Item(name="pending")
    db_session.add(pending)
    with pytest.raises(ValueError, match="no row yet"):
        detach(pending)

def test_detaching_twice_returns_the_same_object(db_session, chair):
    snapshot = detach(chair)
    assert detach(snapshot) is snapshot
    assert snapshot not in db_session
"""
    )
    result.assert_outcomes(passed=6)
