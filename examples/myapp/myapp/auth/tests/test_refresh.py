"""POST /refresh: a new access token, for as long as the refresh token is valid."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from flask_jwt_extended import create_access_token, create_refresh_token
from flask_sqlalchemy.session import Session
from sqlalchemy.orm import scoped_session

from myapp.models import RefreshToken, User


def test_refresh_issues_a_new_access_cookie(logged_in_client: FlaskClient) -> None:
    before = logged_in_client.get_cookie("access_token_cookie")
    assert before is not None

    response = logged_in_client.post("/refresh")

    assert response.status_code == 200
    assert response.json == {"success": True, "message": "Token refreshed"}
    after = logged_in_client.get_cookie("access_token_cookie")
    assert after is not None and after.value != before.value
    assert logged_in_client.get("/me").status_code == 200


def test_refresh_without_a_cookie_is_a_json_401(test_client: FlaskClient) -> None:
    response = test_client.post("/refresh")

    assert response.status_code == 401
    assert response.json is not None
    assert response.json["message"] == 'Missing cookie "refresh_token_cookie"'


def test_refresh_after_logout_is_refused(
    logged_in_client: FlaskClient, refresh_cookie: str, stored_refresh_token: RefreshToken
) -> None:
    assert logged_in_client.post("/logout").status_code == 200
    assert stored_refresh_token.revoked is True

    # The browser dropped its cookies at logout; a stolen copy still exists.
    response = logged_in_client.post("/refresh", cookies={"refresh_token_cookie": refresh_cookie})

    assert response.status_code == 401
    assert response.json is not None
    assert "no longer valid" in response.json["message"]


def test_refresh_for_a_disabled_account_is_forbidden(
    logged_in_client: FlaskClient, auth_test_user: User, db_session: scoped_session[Session]
) -> None:
    auth_test_user.active = False
    db_session.commit()

    response = logged_in_client.post("/refresh")

    assert response.status_code == 403


def test_a_token_the_server_never_issued_cannot_refresh(
    test_client: FlaskClient, auth_test_user: User
) -> None:
    # Validly signed, but not stored: not one of ours.
    token = create_refresh_token(identity=auth_test_user.id)

    response = test_client.post("/refresh", cookies={"refresh_token_cookie": token})

    assert response.status_code == 401
    assert response.json is not None
    assert "no longer valid" in response.json["message"]


@pytest.mark.parametrize(
    ("make_token", "message"),
    [
        (lambda user_id: create_access_token(identity=user_id), "Only refresh tokens"),
        (lambda user_id: create_refresh_token(identity=user_id)[:-4] + "AAAA", "invalid token"),
        (
            lambda user_id: create_refresh_token(identity=user_id, expires_delta=timedelta(-1)),
            "the token has expired",
        ),
    ],
    ids=["access token", "bad signature", "expired"],
)
def test_unusable_refresh_tokens_are_401(
    test_client: FlaskClient, auth_test_user: User, make_token: Callable[[int], str], message: str
) -> None:
    response = test_client.post(
        "/refresh", cookies={"refresh_token_cookie": make_token(auth_test_user.id)}
    )

    assert response.status_code == 401
    assert response.json is not None
    assert message in response.json["message"]
