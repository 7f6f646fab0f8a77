"""Module-scoped data: written once, seen by every test here, restored after each.

``alice`` and ``bob`` (with their notes) are created once for this module.
A test may change them, through the API or directly; the plugin rolls each
test back to the module's data, so every test starts from the same two
users, whatever ran before it. Use this for data that is expensive to build
and read by many tests; keep function scope for everything else.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session
from sqlalchemy.orm import scoped_session
from werkzeug.test import TestResponse

from myapp.auth.tests.factories import PASSWORD, UserFactory
from myapp.models import User
from myapp.notes.tests.factories import NoteFactory


@pytest.fixture(scope="module")
def alice(test_app: Flask) -> User:
    user = UserFactory.create(email="alice@example.com")
    NoteFactory.create_batch(3, owner=user)
    return user


@pytest.fixture(scope="module")
def bob(test_app: Flask) -> User:
    user = UserFactory.create(email="bob@example.com")
    NoteFactory.create_batch(2, owner=user)
    return user


def login(client: FlaskClient, email: str) -> TestResponse:
    return client.post("/login", json={"email": email, "password": PASSWORD})


def titles(client: FlaskClient) -> list[str]:
    listing = client.get("/notes").json
    assert listing is not None
    return [note["title"] for note in listing["notes"]]


def test_alice_sees_her_three_notes(
    log_in: Callable[[User], FlaskClient], alice: User, bob: User
) -> None:
    assert len(titles(log_in(alice))) == 3


def test_bob_sees_his_two(log_in: Callable[[User], FlaskClient], alice: User, bob: User) -> None:
    assert len(titles(log_in(bob))) == 2


def test_alice_deletes_all_her_notes(log_in: Callable[[User], FlaskClient], alice: User) -> None:
    client = log_in(alice)
    listing = client.get("/notes").json
    assert listing is not None
    for note in listing["notes"]:
        assert client.delete(f"/notes/{note['id']}").status_code == 204

    assert titles(client) == []


def test_her_notes_are_back_for_the_next_test(
    log_in: Callable[[User], FlaskClient], alice: User
) -> None:
    assert len(titles(log_in(alice))) == 3


def test_alice_changes_her_email(
    test_client: FlaskClient, db_session: scoped_session[Session], alice: User
) -> None:
    alice.email = "alice@elsewhere.example"
    db_session.commit()

    assert login(test_client, "alice@example.com").status_code == 401
    assert login(test_client, "alice@elsewhere.example").status_code == 200


def test_alice_is_as_the_module_made_her(test_client: FlaskClient, alice: User) -> None:
    assert alice.email == "alice@example.com"
    assert login(test_client, "alice@example.com").status_code == 200


def test_listing_runs_as_many_queries_for_13_notes_as_for_3(
    log_in: Callable[[User], FlaskClient],
    alice: User,
    assert_max_queries: Callable[[int], AbstractContextManager[list[str]]],
) -> None:
    """No N+1: the statements of GET /notes do not grow with the number of notes."""
    client = log_in(alice)
    with assert_max_queries(5) as few_notes:
        client.get("/notes")
    NoteFactory.create_batch(10, owner=alice)
    with assert_max_queries(len(few_notes)):
        assert len(titles(client)) == 13
