"""The notes pages in a real browser, against the app served by ``live_server``.

The server runs in a thread of the test process, each of its requests inside
the test's sandbox: the user the test's factory made can sign in, the note
the browser adds is in the test's database, and both are gone for the next
test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from flask_sqlalchemy.session import Session
from flask_testbed.live_server import LiveServer
from sqlalchemy import select
from sqlalchemy.orm import scoped_session

from e2e.browsing import alert, fill, listed_titles, submit
from myapp.auth.tests.factories import PASSWORD
from myapp.models import Note, User
from myapp.notes.tests.factories import NoteFactory

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver


@pytest.fixture
def signed_in(browser: WebDriver, live_server: LiveServer, auth_test_user: User) -> WebDriver:
    """The browser on the notes page, signed in as ``auth_test_user`` through the form."""
    browser.get(live_server.url("/sign-in"))
    form = browser.find_element("id", "sign-in")
    fill(form, email=auth_test_user.email, password=PASSWORD)
    submit(browser, form)
    return browser


def test_sign_in_add_a_note_and_see_it_listed(
    browser: WebDriver,
    live_server: LiveServer,
    auth_test_user: User,
    db_session: scoped_session[Session],
) -> None:
    browser.get(live_server.url("/my-notes"))
    # A visitor is sent to the sign-in form, and back once signed in.
    assert browser.current_url == live_server.url("/sign-in?next=/my-notes")
    form = browser.find_element("id", "sign-in")
    fill(form, email=auth_test_user.email, password=PASSWORD)
    submit(browser, form)
    assert browser.current_url == live_server.url("/my-notes")
    assert browser.find_element("id", "user-email").text == auth_test_user.email

    form = browser.find_element("id", "add-note")
    fill(form, title="Buy milk", body="two litres")
    submit(browser, form)

    assert listed_titles(browser) == ["Buy milk"]
    # What the browser wrote is in the test's database.
    note = db_session.scalars(select(Note)).one()
    assert (note.title, note.body, note.user_id) == ("Buy milk", "two litres", auth_test_user.id)


def test_the_next_test_starts_with_no_notes(
    signed_in: WebDriver, db_session: scoped_session[Session]
) -> None:
    # Whatever ran before, its notes (and users) are gone.
    assert listed_titles(signed_in) == []
    assert signed_in.find_element("id", "no-notes").text == "No notes yet."
    assert db_session.scalars(select(Note)).all() == []


def test_a_blank_title_is_refused_in_the_page(
    signed_in: WebDriver, db_session: scoped_session[Session]
) -> None:
    # Spaces pass the field's `required`: the server's validation is what stops them.
    form = signed_in.find_element("id", "add-note")
    fill(form, title="   ", body="kept for a second try")
    submit(signed_in, form)

    assert alert(signed_in) == "the title cannot be blank"
    body = signed_in.find_element("css selector", "#add-note [name=body]")
    assert body.get_attribute("value") == "kept for a second try"
    assert listed_titles(signed_in) == []
    assert db_session.scalars(select(Note)).all() == []


def test_a_note_the_test_made_is_listed_and_deleted(
    signed_in: WebDriver,
    live_server: LiveServer,
    auth_test_user: User,
    db_session: scoped_session[Session],
) -> None:
    note = NoteFactory.create(owner=auth_test_user, title="Made by the test")
    signed_in.get(live_server.url("/my-notes"))
    assert listed_titles(signed_in) == ["Made by the test"]

    submit(signed_in, signed_in.find_element("css selector", f".note[data-id='{note.id}'] form"))

    assert listed_titles(signed_in) == []
    assert db_session.scalars(select(Note)).all() == []


def test_forms_work_with_production_csrf_protection(
    browser: WebDriver,
    live_server: LiveServer,
    auth_test_user: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # TestConfig turns it off; production requires the form's csrf_token field.
    monkeypatch.setitem(live_server.app.config, "JWT_COOKIE_CSRF_PROTECT", True)
    browser.get(live_server.url("/sign-in"))
    form = browser.find_element("id", "sign-in")
    fill(form, email=auth_test_user.email, password=PASSWORD)
    submit(browser, form)

    form = browser.find_element("id", "add-note")
    fill(form, title="Protected")
    submit(browser, form)

    assert browser.current_url == live_server.url("/my-notes")
    assert listed_titles(browser) == ["Protected"]
