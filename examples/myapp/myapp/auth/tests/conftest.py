"""Auth's own test data, on top of the shared user and logged-in client."""

import pytest
from flask.testing import FlaskClient
from flask_jwt_extended import decode_token
from flask_sqlalchemy.session import Session
from sqlalchemy import select
from sqlalchemy.orm import scoped_session

from myapp.models import RefreshToken


@pytest.fixture
def refresh_cookie(logged_in_client: FlaskClient) -> str:
    """The refresh token the login set, as the browser holds it."""
    cookie = logged_in_client.get_cookie("refresh_token_cookie")
    assert cookie is not None
    return cookie.value


@pytest.fixture
def stored_refresh_token(db_session: scoped_session[Session], refresh_cookie: str) -> RefreshToken:
    """The database row that remembers the logged-in client's refresh token."""
    jti = decode_token(refresh_cookie)["jti"]
    token: RefreshToken | None = db_session.scalar(select(RefreshToken).filter_by(jti=jti))
    assert token is not None
    return token
