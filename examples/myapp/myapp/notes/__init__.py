"""Notes: each user's own, through a JSON API under /notes and a page at /my-notes."""

from .models import Note
from .pages import bp as pages_bp
from .routes import bp

__all__ = ["Note", "bp", "pages_bp"]
