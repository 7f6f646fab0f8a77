"""Every model of the app, from one place: ``from myapp.models import User``."""

from .auth.models import RefreshToken, User
from .notes.models import Note

__all__ = ["Note", "RefreshToken", "User"]
