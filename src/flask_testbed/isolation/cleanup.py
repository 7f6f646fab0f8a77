"""The strategies where the app really commits and the plugin cleans up after it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import close_all_sessions

from ..database.backends import backend_for
from ..database.inventory import Inventory
from ..database.schema import binds, create_schema, empty_all, maintenance
from ..database.schema import reset_sequences as reset_all_sequences
from ..database.writes import WriteTracker


class _CommittingIsolation:
    """Shared by ``truncate`` and ``recreate``: only their reset differs."""

    name = ""

    def __init__(self, integration: Any) -> None:
        self.integration = integration
        # Sorted once: MetaData.sorted_tables sorts anew on every access, which
        # costs milliseconds per test on a schema of hundreds of tables.
        self.binds = [
            (engine, metadata.sorted_tables) for _key, engine, metadata in binds(integration)
        ]
        self.writes = WriteTracker([engine for engine, _tables in self.binds])

    def open(self) -> None:
        self.writes.start()

    def close(self) -> None:
        self._reset_if_written()
        self.writes.stop()

    def enter(self, shared: bool = False, reset_sequences: bool = False) -> None:
        if reset_sequences:
            close_all_sessions()
            reset_all_sequences(self.integration)

    def leave(self, shared: bool = False, test: str = "") -> None:
        if shared:
            # A client_module flow goes on: keep the data, drop the session's state.
            for session in self.integration.context_sessions():
                session.rollback()
            return
        self._reset_if_written()

    def settle(self) -> None:
        pass  # every statement of this strategy is waited for

    def adopt(self, engines: list[Any]) -> None:
        # Their tables are the app's (same databases): watched, they are emptied too.
        self.writes.add(engines)

    def statements(self) -> int:
        return 0  # every write is real: nothing of a fixture's goes with a scope's end

    def commits(self) -> int | None:
        return None  # real commits, from any connection

    def transaction_failed(self) -> bool:
        return False  # a request's session has a connection of its own, as in production

    def empty(self) -> None:
        close_all_sessions()
        empty_all(self.integration)
        self.writes.reset()

    def heal(self) -> None:
        self.empty()

    def _reset_if_written(self) -> None:
        close_all_sessions()
        if self.writes.dirty:
            self._reset()
            self.writes.reset()

    def _reset(self) -> None:
        raise NotImplementedError


class TruncateIsolation(_CommittingIsolation):
    """The app commits; afterwards the tables it wrote to are emptied.

    Emptying is DELETE in foreign-key order, in one transaction per bind (one
    round trip on PostgreSQL): a TRUNCATE of many tables costs far more than
    deleting the few rows a test wrote.
    """

    name = "truncate"

    def _reset(self) -> None:
        written = self.writes
        for engine, sorted_tables in self.binds:
            tables = [t for t in sorted_tables if written.everything or t.name in written.tables]
            if tables:
                with maintenance(engine) as connection:
                    backend_for(engine).empty_tables(connection, tables)


class RecreateIsolation(_CommittingIsolation):
    """The app commits; afterwards every table is dropped and created again.

    Seed 001's reset, done only when something was written. The one to pick
    for tests that change the schema themselves: the tables and views a test
    made go too, and only those (the ``inventory`` knows which).
    """

    name = "recreate"

    def __init__(self, integration: Any, inventory: Inventory) -> None:
        super().__init__(integration)
        self.inventory = inventory

    def _reset(self) -> None:
        create_schema(self.integration, inventory=self.inventory)
