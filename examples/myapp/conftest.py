"""Test data every feature shares; the plugin provides the rest.

flask-testbed gives ``test_app``, ``test_client``, ``test_client_module``,
``db_session`` and friends, each test in its own sandbox (pytest.ini names
the app). What is left for the app to say is what its data looks like:
the factories, registered as fixtures, and the logged-in user that the
features' tests build on (``test_app`` → ``test_client`` →
``auth_test_user`` → ``logged_in_client`` → a feature's own data).
"""

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pytest_factoryboy import register

from myapp.auth.tests.factories import PASSWORD, UserFactory
from myapp.models import User
from myapp.notes.tests.factories import NoteFactory

# Fixtures `user`/`user_factory` and `note`/`note_factory`; a `note` is owned
# by the test's `user`.
register(UserFactory)
register(NoteFactory)


@pytest.fixture
def auth_test_user(test_app: Flask) -> User:
    return UserFactory.create(email="user1@example.com")


@pytest.fixture
def log_in(test_client: FlaskClient) -> Callable[[User], FlaskClient]:
    """Log the test client in as a user made with PASSWORD."""

    def log_in_as(user: User, password: str = PASSWORD) -> FlaskClient:
        response = test_client.post("/login", json={"email": user.email, "password": password})
        assert response.status_code == 200, response.json
        return test_client

    return log_in_as


@pytest.fixture
def logged_in_client(log_in: Callable[[User], FlaskClient], auth_test_user: User) -> FlaskClient:
    return log_in(auth_test_user)
