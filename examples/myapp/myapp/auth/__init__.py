"""Accounts and sessions: register, log in with JWT cookies, refresh, log out."""

from .guards import current_user, login_required
from .models import RefreshToken, User
from .routes import bp

__all__ = ["RefreshToken", "User", "bp", "current_user", "login_required"]
