"""Which tables have been written since the last cleanup.

The ``truncate`` and ``recreate`` strategies clean only what a test touched,
so their cost follows the test, not the size of the schema. A statement the
tracker cannot attribute to a table (raw SQL, DDL) marks every table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event

_READ_ONLY = (
    "select", "savepoint", "release", "rollback", "pragma", "show", "set ", "explain", "begin",
)


class WriteTracker:
    def __init__(self, engines: list[Engine]) -> None:
        self.engines = list(engines)
        self.tables: set[str] = set()
        self.everything = False
        self._started = False

    @property
    def dirty(self) -> bool:
        return self.everything or bool(self.tables)

    def start(self) -> None:
        self._started = True
        for engine in self.engines:
            event.listen(engine, "after_cursor_execute", self._seen)

    def add(self, engines: list[Engine]) -> None:
        """Watch more engines (an app built during the run), from now on if started."""
        for engine in engines:
            if engine not in self.engines:
                self.engines.append(engine)
                if self._started:
                    event.listen(engine, "after_cursor_execute", self._seen)

    def stop(self) -> None:
        self._started = False
        for engine in self.engines:
            if event.contains(engine, "after_cursor_execute", self._seen):
                event.remove(engine, "after_cursor_execute", self._seen)

    def reset(self) -> None:
        self.tables = set()
        self.everything = False

    def _seen(self, conn, cursor, statement: str, parameters, context: Any, executemany) -> None:
        if self.everything:
            return
        compiled = getattr(context, "compiled", None)
        if compiled is not None and (context.isinsert or context.isupdate or context.isdelete):
            table = getattr(compiled.statement, "table", None)
            if table is not None and hasattr(table, "name"):
                self.tables.add(table.name)
                return
        if statement.lstrip()[:10].lower().startswith(_READ_ONLY):
            return
        self.everything = True
