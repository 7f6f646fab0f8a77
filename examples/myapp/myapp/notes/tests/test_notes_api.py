"""The notes API for the logged-in user: create, list, read, update, delete."""

import pytest
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session
from flask_testbed import detach
from sqlalchemy import select
from sqlalchemy.orm import scoped_session

from myapp.models import Note, User
from myapp.notes.tests.factories import NoteFactory


def test_create_returns_the_note_and_where_it_lives(
    logged_in_client: FlaskClient, db_session: scoped_session[Session], auth_test_user: User
) -> None:
    response = logged_in_client.post("/notes", json={"title": " Ideas ", "body": "a plugin"})

    assert response.status_code == 201
    created = response.json
    assert created is not None
    assert created["title"] == "Ideas"
    assert response.headers["Location"] == f"/notes/{created['id']}"
    assert logged_in_client.get(response.headers["Location"]).json == created
    note = db_session.get(Note, created["id"])
    assert note is not None and note.user_id == auth_test_user.id


def test_body_is_optional(logged_in_client: FlaskClient) -> None:
    response = logged_in_client.post("/notes", json={"title": "Just a title"})

    assert response.status_code == 201
    assert response.json is not None
    assert response.json["body"] == ""


def test_list_has_own_notes_oldest_first(
    logged_in_client: FlaskClient, auth_test_user: User, sample_note: Note, strangers_note: Note
) -> None:
    later = NoteFactory.create(owner=auth_test_user)

    response = logged_in_client.get("/notes")

    assert response.status_code == 200
    assert response.json is not None
    assert [note["id"] for note in response.json["notes"]] == [sample_note.id, later.id]


def test_list_is_empty_for_a_new_user(logged_in_client: FlaskClient, strangers_note: Note) -> None:
    assert logged_in_client.get("/notes").json == {"notes": []}


def test_get_one_note(logged_in_client: FlaskClient, sample_note: Note) -> None:
    response = logged_in_client.get(f"/notes/{sample_note.id}")

    assert response.status_code == 200
    assert response.json == {"id": sample_note.id, "title": "Groceries", "body": "milk, eggs"}


def test_patch_changes_only_the_fields_sent(
    logged_in_client: FlaskClient, db_session: scoped_session[Session], sample_note: Note
) -> None:
    # A snapshot of the note as it was: detached, it keeps its values while
    # the request changes the row (an attached object would reload them).
    before = detach(sample_note)

    response = logged_in_client.patch(f"/notes/{before.id}", json={"title": "Shopping"})

    assert response.status_code == 200
    after = db_session.get(Note, before.id)
    assert after is not None
    assert (before.title, after.title) == ("Groceries", "Shopping")
    assert after.body == before.body == "milk, eggs"


def test_patch_body_keeps_title(logged_in_client: FlaskClient, sample_note: Note) -> None:
    response = logged_in_client.patch(f"/notes/{sample_note.id}", json={"body": "bread"})

    assert response.json == {"id": sample_note.id, "title": "Groceries", "body": "bread"}


def test_delete_removes_the_note(
    logged_in_client: FlaskClient, db_session: scoped_session[Session], sample_note: Note
) -> None:
    note_id = sample_note.id

    response = logged_in_client.delete(f"/notes/{note_id}")

    assert response.status_code == 204
    assert logged_in_client.get(f"/notes/{note_id}").status_code == 404
    assert db_session.scalars(select(Note).filter_by(id=note_id)).all() == []


def test_unknown_note_is_404(logged_in_client: FlaskClient) -> None:
    response = logged_in_client.get("/notes/999999")

    assert response.status_code == 404
    assert response.json == {"success": False, "message": "note not found"}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "a title is required"),
        ({"body": "no title"}, "a title is required"),
        ({"title": "   "}, "cannot be blank"),
        ({"title": "x" * 201}, "longer than 200 characters"),
        ({"title": 42}, "title must be a string"),
        ({"title": "ok", "body": None}, "body must be a string"),
        ({"title": "ok", "color": "red"}, "unknown fields: color"),
        (["title"], "expected a JSON object"),
    ],
)
def test_invalid_note_is_refused(
    logged_in_client: FlaskClient,
    db_session: scoped_session[Session],
    payload: object,
    message: str,
) -> None:
    response = logged_in_client.post("/notes", json=payload)

    assert response.status_code == 400
    assert response.json is not None
    assert message in response.json["message"]
    assert db_session.scalars(select(Note)).all() == []


def test_empty_patch_is_refused_and_changes_nothing(
    logged_in_client: FlaskClient, db_session: scoped_session[Session], sample_note: Note
) -> None:
    response = logged_in_client.patch(f"/notes/{sample_note.id}", json={})

    assert response.status_code == 400
    db_session.refresh(sample_note)
    assert (sample_note.title, sample_note.body) == ("Groceries", "milk, eggs")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/notes"),
        ("post", "/notes"),
        ("get", "/notes/1"),
        ("patch", "/notes/1"),
        ("delete", "/notes/1"),
    ],
)
def test_every_endpoint_needs_a_login(test_client: FlaskClient, method: str, path: str) -> None:
    response = getattr(test_client, method)(path, json={"title": "t"})

    assert response.status_code == 401
    assert response.json is not None
    assert response.json["message"] == 'Missing cookie "access_token_cookie"'
