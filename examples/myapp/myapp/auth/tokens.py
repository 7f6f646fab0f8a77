"""Issuing and remembering the JWTs, and how token errors answer.

Tokens travel in cookies. Each refresh token handed out at login is stored by
its ``jti`` so that logout can revoke it and refresh can refuse it afterwards.
"""

from datetime import UTC, datetime

from flask import Response
from flask_jwt_extended import (
    create_access_token,
    create_refresh_token,
    decode_token,
    set_access_cookies,
    set_refresh_cookies,
)
from sqlalchemy import select

from ..api import error
from ..extensions import db, jwt
from .models import RefreshToken, User


@jwt.user_identity_loader
def user_identity(identity: object) -> str:
    # PyJWT 2.10+ requires the `sub` claim to be a string; callers pass user ids.
    return str(identity)


@jwt.unauthorized_loader
def missing_token(reason: str) -> tuple[Response, int]:
    return error(401, reason)


@jwt.invalid_token_loader
def invalid_token(reason: str) -> tuple[Response, int]:
    return error(401, f"invalid token: {reason}")


@jwt.expired_token_loader
def expired_token(jwt_header: dict, jwt_payload: dict) -> tuple[Response, int]:
    return error(401, "the token has expired")


def log_in(response: Response, user: User) -> None:
    """Set both token cookies on ``response`` and remember the refresh token."""
    refresh_token = create_refresh_token(identity=user.id)
    claims = decode_token(refresh_token)
    expires_at = datetime.fromtimestamp(claims["exp"], UTC).replace(tzinfo=None)
    db.session.add(RefreshToken(jti=claims["jti"], user=user, expires_at=expires_at))
    set_access_cookies(response, create_access_token(identity=user.id))
    set_refresh_cookies(response, refresh_token)


def renew_access(response: Response, user: User) -> None:
    set_access_cookies(response, create_access_token(identity=user.id))


def stored_refresh_token(jti: str) -> RefreshToken | None:
    return db.session.scalar(select(RefreshToken).filter_by(jti=jti))
