"""Each user sees and edits only their own notes; anyone else's is a 404."""

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session
from sqlalchemy import delete, select
from sqlalchemy.orm import scoped_session

from myapp.models import Note, User


@pytest.mark.parametrize(
    ("method", "payload"), [("get", None), ("patch", {"title": "Mine now"}), ("delete", None)]
)
def test_someone_elses_note_is_not_found(
    logged_in_client: FlaskClient,
    db_session: scoped_session[Session],
    strangers_note: Note,
    method: str,
    payload: dict[str, str] | None,
) -> None:
    response = getattr(logged_in_client, method)(f"/notes/{strangers_note.id}", json=payload)

    # The same answer as for a note that does not exist: ids leak nothing.
    assert response.status_code == 404
    assert response.json is not None
    assert response.json["message"] == "note not found"
    db_session.refresh(strangers_note)
    assert strangers_note.title == "Not yours"


def test_owner_sees_the_note_others_do_not(
    log_in: Callable[[User], FlaskClient], note: Note, user: User, auth_test_user: User
) -> None:
    # `note` and its owner `user` come from pytest-factoryboy's register().
    assert note.owner is user

    owner = log_in(user)
    shown = owner.get(f"/notes/{note.id}").json
    assert shown is not None
    assert shown["title"] == note.title

    other = log_in(auth_test_user)
    assert other.get(f"/notes/{note.id}").status_code == 404
    assert other.get("/notes").json == {"notes": []}


def test_deleting_a_user_deletes_their_notes(
    db_session: scoped_session[Session], note: Note, user: User
) -> None:
    other = Note(owner=User(email="keeper@example.com", password="long enough"), title="kept")
    db_session.add(other)
    db_session.commit()

    db_session.execute(delete(User).where(User.id == user.id))
    db_session.commit()

    assert db_session.scalars(select(Note.title)).all() == ["kept"]


def test_a_deleted_user_cannot_use_their_access_cookie(
    logged_in_client: FlaskClient, auth_test_user: User, db_session: scoped_session[Session]
) -> None:
    db_session.delete(auth_test_user)
    db_session.commit()

    response = logged_in_client.get("/notes")

    assert response.status_code == 401
    assert response.json is not None
    assert response.json["message"] == "this account no longer exists"
