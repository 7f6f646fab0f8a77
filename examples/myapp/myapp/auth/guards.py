"""``login_required``: the access check every feature's private endpoints share.

flask-jwt-extended's own user loading would also run for ``/logout``, which
must answer for tokens whose user is gone; so the user is loaded here, only
for the endpoints that need one.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g
from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request

from ..api import error
from ..extensions import db
from .models import User


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Require a valid access cookie of an existing, active user."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verify_jwt_in_request()
        user = db.session.get(User, int(get_jwt_identity()))
        if user is None:
            return error(401, "this account no longer exists")
        if not user.active:
            return error(403, "this account is disabled")
        g.current_user = user
        return view(*args, **kwargs)

    return wrapper


def current_user() -> User:
    """The user of the current request, inside a ``login_required`` view."""
    return g.current_user
