"""Notes: each user's own, through a JSON API under /notes."""

from .models import Note
from .routes import bp

__all__ = ["Note", "bp"]
