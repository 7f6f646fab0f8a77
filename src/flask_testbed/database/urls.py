"""Database URLs as the plugin shows and judges them."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url


def masked(url: str | URL) -> str:
    """The URL with its password replaced by ``***``: the only form we print."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL has no password we could find
        return "<unparsable database URL>"


def is_test_database(url: str | URL) -> bool:
    """SQLite (memory or file), or a server database whose name contains ``test``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return True
    return "test" in (parsed.database or "").lower()
