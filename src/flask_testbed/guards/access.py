"""Database access only for tests that asked for it.

A test that uses none of the plugin's fixtures runs outside any isolation: if
it reaches the database anyway (it imports the app's ``db`` and queries, or a
helper does), whatever it writes leaks into the next test. The blocker makes
that an error at the statement, naming the test and the fix.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, event


class DatabaseAccessBlocked(RuntimeError):
    """A statement from code that runs outside the plugin's isolation."""


class AccessBlocker:
    def __init__(self) -> None:
        #: who is refused right now (a test id, "collection"), or None when access is allowed
        self.refused: str | None = None
        self._engines: list[Engine] = []

    def install(self, engines: list[Engine]) -> None:
        for engine in engines:
            if engine not in self._engines:
                event.listen(engine, "before_cursor_execute", self._check)
                self._engines.append(engine)

    def uninstall(self) -> None:
        for engine in self._engines:
            event.remove(engine, "before_cursor_execute", self._check)
        self._engines = []

    def refuse(self, who: str | None) -> None:
        self.refused = who

    @contextlib.contextmanager
    def allowed(self) -> Iterator[None]:
        refused, self.refused = self.refused, None
        try:
            yield
        finally:
            self.refused = refused

    def _check(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.refused is None:
            return
        if self.refused == "collection":
            raise DatabaseAccessBlocked(
                "database access while collecting tests (a query at import time): "
                "move it into a fixture or a test; module-level code runs before any "
                "isolation exists"
            )
        raise DatabaseAccessBlocked(
            f"{self.refused} reached the database without asking for it: "
            "add the db_session (or client) fixture to it, or mark it @pytest.mark.testbed"
        )
