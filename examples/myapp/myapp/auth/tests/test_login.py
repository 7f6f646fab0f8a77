"""POST /login and GET /me: who gets tokens, and what the access cookie opens."""

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_jwt_extended import decode_token
from flask_sqlalchemy.session import Session
from sqlalchemy import select
from sqlalchemy.orm import scoped_session

from myapp.auth.tests.factories import PASSWORD
from myapp.extensions import utcnow
from myapp.models import RefreshToken, User


def test_login_sets_both_cookies_and_stores_the_refresh_token(
    test_client: FlaskClient, db_session: scoped_session[Session], auth_test_user: User
) -> None:
    response = test_client.post("/login", json={"email": "user1@example.com", "password": PASSWORD})

    assert response.status_code == 200
    assert response.json is not None
    assert response.json["user"] == auth_test_user.to_dict()
    access_cookie = test_client.get_cookie("access_token_cookie")
    refresh_cookie = test_client.get_cookie("refresh_token_cookie")
    assert access_cookie is not None and refresh_cookie is not None
    access = decode_token(access_cookie.value)
    refresh = decode_token(refresh_cookie.value)
    assert access["sub"] == refresh["sub"] == str(auth_test_user.id)
    stored = db_session.scalar(select(RefreshToken).filter_by(jti=refresh["jti"]))
    assert stored is not None
    assert stored.user_id == auth_test_user.id
    assert stored.revoked is False
    assert stored.expires_at > utcnow()


@pytest.mark.parametrize(
    ("email", "password"),
    [("user1@example.com", "not the password"), ("nobody@example.com", PASSWORD)],
    ids=["wrong password", "unknown user"],
)
def test_bad_credentials_get_one_answer_and_no_token(
    test_client: FlaskClient,
    db_session: scoped_session[Session],
    auth_test_user: User,
    email: str,
    password: str,
) -> None:
    response = test_client.post("/login", json={"email": email, "password": password})

    assert response.status_code == 401
    assert response.json == {"success": False, "message": "invalid email or password"}
    assert test_client.get_cookie("refresh_token_cookie") is None
    assert db_session.scalars(select(RefreshToken)).all() == []


@pytest.mark.parametrize("user__active", [False])
def test_disabled_user_cannot_log_in(
    test_client: FlaskClient, db_session: scoped_session[Session], user: User
) -> None:
    # `user` comes from pytest-factoryboy's register(UserFactory); the
    # parametrize above sets its `active` field for this test.
    response = test_client.post("/login", json={"email": user.email, "password": PASSWORD})

    assert response.status_code == 403
    assert response.json is not None
    assert response.json["message"] == "this account is disabled"
    assert db_session.scalars(select(RefreshToken)).all() == []


@pytest.mark.parametrize(
    "payload",
    [{}, {"email": "user1@example.com"}, {"password": PASSWORD}, {"email": 1, "password": 2}],
)
def test_login_needs_email_and_password(
    test_client: FlaskClient, auth_test_user: User, payload: dict[str, object]
) -> None:
    response = test_client.post("/login", json=payload)

    assert response.status_code == 400
    assert response.json is not None
    assert response.json["message"] == "email and password are required"


def test_login_accepts_an_html_form_and_any_email_case(
    test_client: FlaskClient, auth_test_user: User
) -> None:
    response = test_client.post(
        "/login", data={"email": " User1@Example.com", "password": PASSWORD}
    )

    assert response.status_code == 200
    assert test_client.get_cookie("access_token_cookie") is not None


def test_me_is_the_logged_in_user(logged_in_client: FlaskClient, auth_test_user: User) -> None:
    response = logged_in_client.get("/me")

    assert response.status_code == 200
    assert response.json is not None
    assert response.json["user"] == {
        "id": auth_test_user.id,
        "email": "user1@example.com",
        "active": True,
    }


def test_me_without_a_cookie_is_a_json_401(test_client: FlaskClient) -> None:
    response = test_client.get("/me")

    assert response.status_code == 401
    assert response.json == {"success": False, "message": 'Missing cookie "access_token_cookie"'}


def test_a_disabled_account_loses_access_at_once(
    logged_in_client: FlaskClient, auth_test_user: User, db_session: scoped_session[Session]
) -> None:
    auth_test_user.active = False
    db_session.commit()

    response = logged_in_client.get("/me")

    assert response.status_code == 403
    assert response.json is not None
    assert response.json["message"] == "this account is disabled"


def test_csrf_protection_guards_cookie_requests_when_enabled(
    test_app: Flask,
    log_in: Callable[[User], FlaskClient],
    auth_test_user: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # TestConfig turns it off for brevity; production (Config) has it on.
    monkeypatch.setitem(test_app.config, "JWT_COOKIE_CSRF_PROTECT", True)
    client = log_in(auth_test_user)

    refused = client.post("/logout")
    assert refused.status_code == 401
    assert refused.json is not None
    assert refused.json["message"] == "Missing CSRF token"

    csrf = client.get_cookie("csrf_refresh_token")
    assert csrf is not None
    accepted = client.post("/logout", headers={"X-CSRF-TOKEN": csrf.value})
    assert accepted.status_code == 200
