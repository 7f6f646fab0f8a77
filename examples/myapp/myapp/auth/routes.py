"""Register, log in, refresh and log out; tokens travel in cookies."""

from flask import Blueprint, Response, jsonify, request
from flask_jwt_extended import get_jwt, jwt_required, unset_jwt_cookies
from sqlalchemy.exc import IntegrityError

from ..api import error, json_object
from ..extensions import db
from .credentials import LoginRefused, authenticate
from .guards import current_user, login_required
from .models import User
from .tokens import log_in, renew_access, stored_refresh_token

MIN_PASSWORD_LENGTH = 8

bp = Blueprint("auth", __name__)


@bp.post("/register")
def register() -> tuple[Response, int]:
    data = json_object()
    email = normalize_email(data.get("email"))
    password = data.get("password")
    if email is None:
        return error(400, "a valid email is required")
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        return error(400, f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    user = User(email=email, password=password)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:  # the unique email, whoever registered it first
        db.session.rollback()
        return error(409, "this email is already registered")
    return jsonify(success=True, user=user.to_dict()), 201


@bp.post("/login")
def login() -> Response | tuple[Response, int]:
    # JSON from API clients, form fields from an HTML login form.
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        data = request.form
    try:
        user = authenticate(data.get("email"), data.get("password"))
    except LoginRefused as refused:
        return error(refused.status, str(refused))
    response = jsonify(success=True, message="Logged in", user=user.to_dict())
    log_in(response, user)
    db.session.commit()
    return response


@bp.get("/me")
@login_required
def me() -> Response:
    return jsonify(success=True, user=current_user().to_dict())


@bp.post("/refresh")
@jwt_required(refresh=True)
def refresh() -> Response | tuple[Response, int]:
    token = stored_refresh_token(get_jwt()["jti"])
    if token is None or token.revoked:
        return error(401, "this refresh token is no longer valid; log in again")
    if not token.user.active:
        return error(403, "this account is disabled")
    response = jsonify(success=True, message="Token refreshed")
    renew_access(response, token.user)
    return response


@bp.post("/logout")
@jwt_required(refresh=True)
def logout() -> Response | tuple[Response, int]:
    token = stored_refresh_token(get_jwt()["jti"])
    if token is None:
        return error(404, "you dont have a token")
    if token.revoked:
        return error(404, "JWT has been revoked")
    token.revoke()
    db.session.commit()
    response = jsonify(success=True, message="Successfully logged out")
    unset_jwt_cookies(response)
    return response


def normalize_email(value: object) -> str | None:
    """The email in canonical form (trimmed, lower case), or None if it is not one."""
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain.strip(".") or "@" in domain or len(email) > 255:
        return None
    if any(character.isspace() for character in email):
        return None
    return email
