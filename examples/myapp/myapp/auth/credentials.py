"""Who may log in: one check for the JSON login and the sign-in page alike."""

from sqlalchemy import select

from ..extensions import db
from .models import User


class LoginRefused(Exception):
    """Credentials that get no tokens; ``status`` is the HTTP answer, the message the reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def authenticate(email: object, password: object) -> User:
    """The active user these credentials belong to, or :class:`LoginRefused`."""
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        raise LoginRefused(400, "email and password are required")
    user = db.session.scalar(select(User).filter_by(email=email.strip().lower()))
    # One answer for both: it must not tell who has an account.
    if user is None or not user.check_password(password):
        raise LoginRefused(401, "invalid email or password")
    if not user.active:
        raise LoginRefused(403, "this account is disabled")
    return user
