"""Accounts and sessions: register, log in with JWT cookies (JSON or the sign-in
page), refresh, log out."""

from .guards import current_user, login_required
from .models import RefreshToken, User
from .pages import bp as pages_bp
from .routes import bp

__all__ = ["RefreshToken", "User", "bp", "current_user", "login_required", "pages_bp"]
