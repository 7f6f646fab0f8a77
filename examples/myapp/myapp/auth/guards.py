"""``login_required`` and ``page_login_required``: the access checks every feature shares.

flask-jwt-extended's own user loading would also run for ``/logout``, which
must answer for tokens whose user is gone; so the user is loaded here, only
for the endpoints that need one.

The JSON API answers a missing or bad token with a JSON 401; a page sends the
browser to the sign-in form instead, which is what a person at a browser
needs.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, redirect, request, url_for
from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError

from ..api import error
from ..extensions import db
from .models import User


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Require a valid access cookie of an existing, active user."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verify_jwt_in_request()
        refusal = load_current_user()
        if refusal is not None:
            return error(*refusal)
        return view(*args, **kwargs)

    return wrapper


def page_login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Like :func:`login_required`, for HTML pages: otherwise, off to the sign-in form.

    A page asked for by GET is where the browser comes back after signing in;
    a refused form post is not (its URL is no page).
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            verify_jwt_in_request()
        except (JWTExtendedException, PyJWTError):
            refusal: tuple[int, str] | None = (401, "not signed in")
        else:
            refusal = load_current_user()
        if refusal is not None:
            back = request.path if request.method == "GET" else None
            return redirect(url_for("auth_pages.sign_in", next=back))
        return view(*args, **kwargs)

    return wrapper


def load_current_user() -> tuple[int, str] | None:
    """Load the token's user for :func:`current_user`; the refusal, if it has none."""
    user = db.session.get(User, int(get_jwt_identity()))
    if user is None:
        return 401, "this account no longer exists"
    if not user.active:
        return 403, "this account is disabled"
    g.current_user = user
    return None


def current_user() -> User:
    """The user of the current request, inside a ``login_required`` view."""
    return g.current_user
