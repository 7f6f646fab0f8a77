"""The rule that the plugin never changes a database that is not a test database."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.engine import URL

from ..errors import TestbedError
from .urls import database_name, is_test_database, masked


def check_test_databases(urls: Iterable[tuple[str | None, str | URL]], allow_any: bool) -> None:
    """Refuse to go on when any bind points at a database that is not a test database.

    Called before anything is created, emptied or dropped, so that a refusal
    leaves the database exactly as it was.
    """
    if allow_any:
        return
    for bind_key, url in urls:
        if not is_test_database(url):
            where = "the default database" if bind_key is None else f"bind {bind_key!r}"
            raise TestbedError(
                f"refusing to use {masked(url)} ({where}): {database_name(url)!r} is not a test "
                "name (one of its words must be test, tests or testing). Point the app at a "
                "test database (--testbed-db-url / TESTBED_DATABASE_URL), or set "
                "testbed_allow_any_database = true if this is really meant"
            )
