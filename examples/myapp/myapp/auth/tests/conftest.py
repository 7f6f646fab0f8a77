"""Auth's own test data, on top of the shared user and logged-in client."""

import pytest
from flask_jwt_extended import decode_token
from sqlalchemy import select

from myapp.models import RefreshToken


@pytest.fixture
def refresh_cookie(logged_in_client):
    """The refresh token the login set, as the browser holds it."""
    return logged_in_client.get_cookie("refresh_token_cookie").value


@pytest.fixture
def stored_refresh_token(db_session, refresh_cookie):
    """The database row that remembers the logged-in client's refresh token."""
    jti = decode_token(refresh_cookie)["jti"]
    return db_session.scalar(select(RefreshToken).filter_by(jti=jti))
