"""Database URLs as the plugin shows and judges them."""

from __future__ import annotations

import re
from pathlib import PurePath

from sqlalchemy.engine import URL, make_url

from .secrets import malformed_text

#: the words that make a name a test name, wherever they stand in it
TEST_WORDS = frozenset({"test", "tests", "testing"})
# Within a run of letters, a word starts at each change of case:
# "TestShop" -> Test, Shop; "HTTPTest" -> HTTP, Test; "shopTEST" -> shop, TEST.
_CASE_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")


def masked(url: str | URL) -> str:
    """The URL with its password replaced by ``***``: the only form we print."""
    if isinstance(url, str):
        shortened = malformed_text(url)
        if shortened is not None:
            return shortened  # parsed, it would show a piece of the password as its host
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL has no password we could find
        return "<unparsable database URL>"


def words(name: str) -> list[str]:
    """The words of a name, split on ``_ - .``, digits, any other non-letter and case changes."""
    return [
        word.lower()
        for letters in re.split(r"[^A-Za-z]+", name)
        for word in _CASE_WORDS.findall(letters)
    ]


def is_test_name(name: str) -> bool:
    """Whether ``test``, ``tests`` or ``testing`` is one of the name's words.

    A word, not a substring: ``contest``, ``latest_prod``, ``testimonials``,
    ``attestation`` and ``shoptest`` are somebody's real data.
    """
    return not TEST_WORDS.isdisjoint(words(name))


def is_in_memory(url: URL) -> bool:
    if url.get_backend_name() != "sqlite":
        return False
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


def sqlite_path(url: URL) -> tuple[str, str]:
    """``(prefix, path)`` of an SQLite file URL: ``file:`` is the prefix of a URI filename."""
    database = url.database or ""
    if str(url.query.get("uri", "")).lower() in ("true", "1") and database.startswith("file:"):
        return "file:", database[5:]
    return "", database


def database_name(url: str | URL) -> str:
    """The name the test-name rule judges: a server database's, or an SQLite file's own name."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return PurePath(sqlite_path(parsed)[1]).name
    return parsed.database or ""


def is_test_database(url: str | URL) -> bool:
    """In-memory SQLite, or a database (an SQLite file) whose name is a test name."""
    parsed = make_url(url)
    return is_in_memory(parsed) or is_test_name(database_name(parsed))
