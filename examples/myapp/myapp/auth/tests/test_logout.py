from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from flask_jwt_extended import create_refresh_token, decode_token

from myapp import db
from myapp.models import RefreshToken, User


@pytest.fixture
def test_user() -> Iterator[User]:
    user = User(email="test@example.com", password="hashedpassword")
    db.session.add(user)
    db.session.commit()
    yield user
    db.session.delete(user)
    db.session.commit()


@pytest.fixture
def refresh_token(test_user: User) -> tuple[str, RefreshToken]:
    token_str = create_refresh_token(identity=test_user.id)
    jti = decode_token(token_str)["jti"]
    token = RefreshToken(jti=jti, user_id=test_user.id, revoked=False)
    db.session.add(token)
    db.session.commit()
    return token_str, token


def test_logout_success(client: FlaskClient, refresh_token: tuple[str, RefreshToken]) -> None:
    token_str, token = refresh_token

    # send refresh token as cookie
    response = client.post(
        "/logout",
        cookies={"refresh_token_cookie": token_str},  # default cookie name in flask_jwt_extended
    )

    assert response.status_code == 200
    assert response.json is not None
    assert response.json["success"] is True
    assert "Successfully logged out" in response.json["message"]

    db.session.refresh(token)
    assert token.revoked is True


def test_logout_token_not_found(client: FlaskClient) -> None:
    fake_token = create_refresh_token(identity=9999)

    response = client.post("/logout", cookies={"refresh_token_cookie": fake_token})

    assert response.status_code == 404
    assert response.json is not None
    assert "you dont have a token" in response.json["message"]


def test_logout_already_revoked(
    client: FlaskClient, refresh_token: tuple[str, RefreshToken]
) -> None:
    token_str, token = refresh_token
    token.revoked = True
    db.session.commit()

    response = client.post("/logout", cookies={"refresh_token_cookie": token_str})

    assert response.status_code == 404
    assert response.json is not None
    assert "JWT has been revoked" in response.json["message"]
