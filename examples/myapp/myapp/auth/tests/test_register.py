"""POST /register: a new account, with its email normalised and its password hashed."""

import pytest
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session
from sqlalchemy import func, select
from sqlalchemy.orm import scoped_session

from myapp.models import User


def count_users(db_session: scoped_session[Session]) -> int | None:
    return db_session.scalar(select(func.count()).select_from(User))


def test_register_creates_the_user(
    test_client: FlaskClient, db_session: scoped_session[Session]
) -> None:
    response = test_client.post(
        "/register", json={"email": "  New.User@Example.COM ", "password": "long enough"}
    )

    assert response.status_code == 201
    assert response.json is not None
    assert response.json["user"]["email"] == "new.user@example.com"
    user = db_session.get(User, response.json["user"]["id"])
    assert user is not None
    assert user.email == "new.user@example.com"
    assert user.active is True
    assert user.check_password("long enough")


def test_registered_user_can_log_in(test_client: FlaskClient) -> None:
    credentials = {"email": "fresh@example.com", "password": "long enough"}
    assert test_client.post("/register", json=credentials).status_code == 201

    response = test_client.post("/login", json=credentials)

    assert response.status_code == 200
    assert response.json is not None
    assert response.json["user"]["email"] == "fresh@example.com"


def test_email_taken_in_another_case_is_a_conflict(
    test_client: FlaskClient, db_session: scoped_session[Session], auth_test_user: User
) -> None:
    response = test_client.post(
        "/register", json={"email": "USER1@example.com", "password": "long enough"}
    )

    assert response.status_code == 409
    assert response.json == {"success": False, "message": "this email is already registered"}
    # The app rolled its insert back; the existing account is untouched.
    assert count_users(db_session) == 1
    assert auth_test_user.email == "user1@example.com"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"password": "long enough"}, "a valid email is required"),
        ({"email": "not-an-email", "password": "long enough"}, "a valid email is required"),
        ({"email": "someone@localhost", "password": "long enough"}, "a valid email is required"),
        ({"email": "a b@example.com", "password": "long enough"}, "a valid email is required"),
        ({"email": "short@example.com", "password": "1234567"}, "at least 8 characters"),
        ({"email": "nopass@example.com"}, "at least 8 characters"),
        ({"email": "num@example.com", "password": 123456789}, "at least 8 characters"),
        (["not", "an", "object"], "expected a JSON object"),
    ],
)
def test_invalid_registration_is_refused(
    test_client: FlaskClient, db_session: scoped_session[Session], payload: object, message: str
) -> None:
    response = test_client.post("/register", json=payload)

    assert response.status_code == 400
    assert response.json is not None
    assert response.json["success"] is False
    assert message in response.json["message"]
    assert count_users(db_session) == 0
