"""Counting the app's SQL statements: pin down N+1 queries in a test."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event

# The session's commit is a savepoint release under the transaction strategy
# (a COMMIT in production, which no cursor sees), and the SQLite fix sends its
# own BEGIN (the driver's, unseen, in production): these are the harness's.
_HARNESS_STATEMENTS = ("savepoint", "release savepoint", "rollback to savepoint", "begin")


class QueryCounter:
    def __init__(self, engines: list[Engine]) -> None:
        self.engines = engines

    @contextlib.contextmanager
    def expect(self, number: int, exact: bool) -> Iterator[list[str]]:
        statements: list[str] = []

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if not statement.lstrip()[:21].lower().startswith(_HARNESS_STATEMENTS):
                statements.append(statement)

        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            for engine in self.engines:
                event.remove(engine, "before_cursor_execute", record)
        count = len(statements)
        if count == number or (not exact and count <= number):
            return
        expected = f"{number}" if exact else f"at most {number}"
        listing = "\n".join(f"  {i}. {' '.join(s.split())}" for i, s in enumerate(statements, 1))
        pytest.fail(f"expected {expected} queries, the app ran {count}:\n{listing}", pytrace=False)
