"""The notes page: what it lists, what its forms do, and who may use it."""

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session
from sqlalchemy import select
from sqlalchemy.orm import scoped_session

from myapp.models import Note, User


def test_a_visitor_is_sent_to_sign_in_and_back(test_client: FlaskClient) -> None:
    response = test_client.get("/my-notes")

    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in?next=/my-notes"


def test_the_page_lists_own_notes_only(
    logged_in_client: FlaskClient, sample_note: Note, strangers_note: Note
) -> None:
    page = logged_in_client.get("/my-notes").get_data(as_text=True)

    assert "Groceries" in page
    assert "Not yours" not in page


def test_adding_a_note_saves_it_and_shows_the_list(
    logged_in_client: FlaskClient, db_session: scoped_session[Session], auth_test_user: User
) -> None:
    response = logged_in_client.post("/my-notes", data={"title": " Ideas ", "body": "a plugin"})

    assert response.status_code == 303  # post, redirect, get: a reload posts nothing twice
    assert response.headers["Location"] == "/my-notes"
    note = db_session.scalars(select(Note)).one()
    assert (note.title, note.body, note.user_id) == ("Ideas", "a plugin", auth_test_user.id)


def test_a_blank_title_shows_the_form_again_with_the_reason(
    logged_in_client: FlaskClient, db_session: scoped_session[Session]
) -> None:
    response = logged_in_client.post("/my-notes", data={"title": "  ", "body": "kept"})

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "the title cannot be blank" in page
    assert ">kept</textarea>" in page
    assert db_session.scalars(select(Note)).all() == []


def test_delete_removes_own_note(
    logged_in_client: FlaskClient, db_session: scoped_session[Session], sample_note: Note
) -> None:
    response = logged_in_client.post(f"/my-notes/{sample_note.id}/delete")

    assert response.status_code == 303
    assert db_session.scalars(select(Note)).all() == []


def test_someone_elses_note_cannot_be_deleted(
    logged_in_client: FlaskClient, db_session: scoped_session[Session], strangers_note: Note
) -> None:
    response = logged_in_client.post(f"/my-notes/{strangers_note.id}/delete")

    assert response.status_code == 404
    assert db_session.scalars(select(Note.title)).all() == ["Not yours"]


@pytest.mark.parametrize("sends_token", [True, False], ids=["with token", "without"])
def test_forms_carry_the_csrf_token_production_requires(
    test_app: Flask,
    log_in: Callable[[User], FlaskClient],
    auth_test_user: User,
    db_session: scoped_session[Session],
    monkeypatch: pytest.MonkeyPatch,
    sends_token: bool,
) -> None:
    # TestConfig turns the protection off; Config (production) has it on.
    monkeypatch.setitem(test_app.config, "JWT_COOKIE_CSRF_PROTECT", True)
    client = log_in(auth_test_user)
    page = client.get("/my-notes").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    cookie = client.get_cookie("csrf_access_token")
    assert cookie is not None and token == cookie.value

    form = {"title": "Posted", "csrf_token": token if sends_token else ""}
    response = client.post("/my-notes", data=form)

    if sends_token:
        assert response.status_code == 303
        assert db_session.scalars(select(Note.title)).all() == ["Posted"]
    else:  # refused before anything is written: back to the sign-in form
        assert response.headers["Location"] == "/sign-in"
        assert db_session.scalars(select(Note)).all() == []
