"""The default strategy: every scope is a savepoint of one outer transaction.

The run holds an outer transaction on a pinned connection per engine; each
module, class and test that uses the database is a savepoint inside it. Data a
module-scoped fixture writes lives in the module's savepoint and survives each
test's rollback; nothing ever commits.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, close_all_sessions

from .. import fastpaths
from ..database.inventory import Inventory
from ..database.schema import binds, empty_metadata, restore_schema
from ..database.schema import reset_sequences as reset_all_sequences
from ..database.urls import masked
from ..errors import TestbedError
from . import routing
from .bookkeeping import (
    disarm_savepoints,
    forget_inserted,
    forget_savepoints,
    roll_back_left_open,
)
from .pinning import PinnedEngine, ReplyFailed
from .routing import Router, route_sessions, unroute_sessions


class IsolationBroken(TestbedError):
    """The database ended the outer transaction behind the plugin's back."""


@dataclass
class _Scope:
    savepoint: str
    # Sessions that began a transaction on a pinned connection during this
    # scope, in order: they are rolled back newest first before the savepoint.
    # (A dict as an ordered set: a test with many requests begins many sessions.)
    sessions: dict[Session, None] = field(default_factory=dict)
    # Per pinned connection, its SQLAlchemy nested transaction when the scope began.
    base: dict[int, Any] = field(default_factory=dict)
    # Objects the scope inserted: their rows go with the savepoint, so they must
    # leave the identity map too (SQLite reuses their ids at once).
    inserted: list[tuple[Session, Any]] = field(default_factory=list)
    # Per pinned connection, its statement count once the scope's savepoint was set.
    start: dict[int, int] = field(default_factory=dict)


class TransactionIsolation:
    name = "transaction"

    def __init__(self, integration: Any, inventory: Inventory | None = None) -> None:
        self.integration = integration
        #: what the run may drop when it heals after DDL that committed (MariaDB/MySQL)
        self.inventory = inventory or Inventory()
        self.pins: list[PinnedEngine] = []
        self._by_engine: dict[Any, PinnedEngine] = {}
        self._scopes: list[_Scope] = []
        self._pinned_connections: set[int] = set()
        self._router = Router()
        #: per routed Session class, its own get_bind (None: it inherited one)
        self._original_get_bind: list[tuple[type, Any]] = []
        self._run_wrote = False
        #: per depth, a savepoint rolled back to and kept for the next scope at that depth,
        #: with the statement count of each pinned connection when it was parked
        self._parked: dict[int, dict[int, int]] = {}
        #: per pinned connection, its statement count when its outer transaction began
        self._fresh: dict[int, int] = {}

    @property
    def is_open(self) -> bool:
        return bool(self.pins)

    # -- the run --------------------------------------------------------

    def open(self) -> None:
        if self.pins:
            return
        close_all_sessions()
        router = self._router = Router()
        for _key, engine, _metadata in binds(self.integration):
            # Two binds on one database share its connection: they see each
            # other's commits, and one's row lock never waits on the other's.
            pinned = router.pinned_for_key(engine)
            if pinned is None:
                pinned = PinnedEngine(engine)
                pinned.pin()
                self.pins.append(pinned)
                self._fresh[id(pinned)] = pinned.statements
            router.add(engine, pinned)
            self._by_engine[engine] = pinned
        routing.install(router)
        self._pinned_connections = {id(p.connection) for p in self.pins}
        self._original_get_bind = route_sessions(self.integration, self._by_engine, self._router)
        event.listen(Session, "after_begin", self._on_session_begin)
        event.listen(Session, "pending_to_persistent", self._on_insert)
        event.listen(Session, "after_transaction_create", self._on_session_transaction)

    def close(self) -> None:
        if not self.pins:
            return
        try:
            self._run_on_pins(PinnedEngine.settle)
        except IsolationBroken:
            self.close()  # healing opened the run again
            raise
        event.remove(Session, "after_begin", self._on_session_begin)
        event.remove(Session, "pending_to_persistent", self._on_insert)
        event.remove(Session, "after_transaction_create", self._on_session_transaction)
        close_all_sessions()
        unroute_sessions(self._original_get_bind)
        self._original_get_bind = []
        routing.uninstall(self._router)
        self._router.clear()
        pins, self.pins = self.pins, []
        self._by_engine.clear()
        self._scopes.clear()
        self._parked.clear()
        self._fresh.clear()
        self._run_wrote = False
        self._pinned_connections = set()
        for pinned in pins:
            pinned.unpin()

    # -- scopes ---------------------------------------------------------

    def adopt(self, engines: list[Any]) -> None:
        pass  # the router sends them to the pinned connections already

    def settle(self) -> None:
        # The harness calls this before each test's fixtures, so every scope
        # entered after it finds the previous test's rollback done.
        self._run_on_pins(PinnedEngine.settle)

    def enter(self, shared: bool = False, reset_sequences: bool = False) -> None:
        if reset_sequences and any(p.backend.sequence_reset_is_ddl for p in self.pins):
            self._restart_for_ddl()
        # Whatever the enclosing scope's fixtures left in the shared session
        # belongs to that scope: commit it there, or this scope's rollback
        # would take it too (and the session's savepoint would enclose ours).
        for session in self.integration.context_sessions():
            if session.in_transaction():
                session.commit()
        depth = len(self._scopes)
        scope = _Scope(savepoint=f"testbed_{depth}")
        parked = self._parked.pop(depth, None)
        for pinned in self.pins:
            assert pinned.connection is not None
            scope.base[id(pinned)] = pinned.connection.get_nested_transaction()
        self._run_on_pins(lambda pinned: self._open_savepoint(pinned, scope.savepoint, parked))
        scope.start = {id(pinned): pinned.statements for pinned in self.pins}
        self._scopes.append(scope)
        if reset_sequences:
            for _key, engine, metadata in binds(self.integration):
                pinned = self._by_engine[engine]
                if not pinned.backend.sequence_reset_is_ddl:
                    assert pinned.connection is not None
                    pinned.backend.reset_sequences(pinned.connection, metadata.sorted_tables)

    def leave(self, shared: bool = False, test: str = "") -> None:
        scope = self._scopes.pop()
        name = scope.savepoint
        depth = len(self._scopes)
        # Savepoints parked deeper than this scope die with its rollback.
        self._parked = {d: marks for d, marks in self._parked.items() if d < depth}
        if shared:
            # The flow goes on: what the sessions did not commit is dropped (as a
            # request's teardown would), what they committed joins the module.
            self._end_sessions(scope)
            self._run_on_pins(lambda pinned: pinned.run([f"RELEASE SAVEPOINT {name}"]))
            if self._scopes:
                self._scopes[-1].inserted.extend(scope.inserted)
            return
        disarm = fastpaths.enabled("sqlalchemy-savepoint-bookkeeping")
        if not disarm:
            # The public path: the sessions' savepoints are rolled back one by
            # one while the server still has them, before the scope's own.
            forget_inserted(scope.inserted)
            self._end_sessions(scope)
        # Not waited for: the next use of the connection reads the reply.
        self._run_on_pins(
            lambda pinned: pinned.send(self._rollback(pinned, scope, depth), test), test
        )
        if disarm:
            # The server has dropped every savepoint inside the scope: tell SQLAlchemy,
            # so that the sessions' rollback below sends nothing (one round trip less).
            for pinned in self.pins:
                disarm_savepoints(pinned, scope.base.get(id(pinned)))
            # Before the sessions' rollback, which would expire each of them first.
            forget_inserted(scope.inserted)
            self._end_sessions(scope)
        for session in self.integration.context_sessions():
            # Rows the scope changed are back as they were: reload on next access.
            session.expire_all()
        # ROLLBACK TO keeps the savepoint: the next scope at this depth reuses it
        # instead of releasing it and setting it again (one round trip per test).
        self._parked[depth] = {id(pinned): pinned.statements for pinned in self.pins}

    def _rollback(self, pinned: PinnedEngine, scope: _Scope, depth: int) -> list[str]:
        """The statements that undo ``scope``: ROLLBACK TO, or a new outer transaction.

        When nothing ran in the outer transaction but inside this scope, the
        enclosing savepoints hold nothing: ending the transaction and setting
        them again undoes the same, where the backend finds that cheaper.
        """
        key = id(pinned)
        if not pinned.backend.restarts_outer_transaction or scope.start[key] != self._fresh[key]:
            return [f"ROLLBACK TO SAVEPOINT {scope.savepoint}"]
        self._fresh[key] = pinned.statements
        # RELEASE first: it fails if the test committed for real and began again
        # (its savepoint is gone), where a bare ROLLBACK would keep that commit.
        return [
            f"RELEASE SAVEPOINT {scope.savepoint}",
            "ROLLBACK",
            "BEGIN",
            *(f"SAVEPOINT testbed_{d}" for d in range(depth + 1)),
        ]

    def _end_sessions(self, scope: _Scope) -> None:
        """Roll back the sessions that began in the scope, newest first, then leaked handles."""
        for session in reversed(list(scope.sessions)):
            if session.join_transaction_mode == "rollback_only" and isinstance(
                session.bind, Connection
            ):
                # A second session inside another's transaction: that one ends it.
                session.close()
                continue
            if session.in_transaction():
                # Its savepoint may be gone already; the check below says why.
                with contextlib.suppress(DBAPIError):
                    session.rollback()
        for pinned in self.pins:
            roll_back_left_open(pinned, scope.base.get(id(pinned)))

    @staticmethod
    def _open_savepoint(pinned: PinnedEngine, name: str, parked: dict[int, int] | None) -> None:
        if parked is None:
            pinned.run([f"SAVEPOINT {name}"])
        elif parked.get(id(pinned)) != pinned.statements:
            # Something ran since the savepoint was parked (a fixture of the
            # enclosing scope): that belongs outside, so merge it and start over.
            pinned.run([f"RELEASE SAVEPOINT {name}", f"SAVEPOINT {name}"])

    def _run_on_pins(self, step: Any, test: str = "") -> None:
        """Run ``step`` on each pinned engine; a failure means the database ended ours.

        ``test`` is the test whose end ``step`` is, when it is one.
        """
        broken = None
        for pinned in self.pins:
            try:
                step(pinned)
            except Exception as exc:  # the driver's own error class
                broken = broken or (pinned, exc)
        if broken is None:
            return
        pinned, exc = broken
        lost = pinned.lost_connection(exc)
        self.heal()
        if isinstance(exc, ReplyFailed):
            exc, test = exc.error, exc.test or test
        where = f" during {test}" if test else ""
        if lost:
            raise IsolationBroken(
                f"the server closed the connection{where}: its writes were rolled back by the "
                f"server ({masked(pinned.engine.url)}: {_first_line(exc)}); the tests after it "
                "run on a new connection, and module or session data written before is gone"
            )
        raise IsolationBroken(
            f"the database ended the test transaction on {masked(pinned.engine.url)}{where}"
            f" ({_first_line(exc)}): something committed for real, e.g. DDL or TRUNCATE on "
            "MySQL/MariaDB or an explicit COMMIT; its writes were committed, so every table "
            "was emptied (and the models' tables made again where the test dropped them) "
            "to keep later tests clean. Mark such a test "
            "@pytest.mark.testbed(strategy='truncate') or 'recreate'"
        )

    def statements(self) -> int:
        return sum(pinned.statements for pinned in self.pins)

    def commits(self) -> int | None:
        return sum(pinned.commits for pinned in self.pins)

    def transaction_failed(self) -> bool:
        return any(pinned.transaction_failed() for pinned in self.pins)

    def empty(self) -> None:
        for _key, engine, metadata in binds(self.integration):
            pinned = self._by_engine[engine]
            assert pinned.connection is not None
            empty_metadata(pinned.connection, metadata)

    # -- internals ------------------------------------------------------

    def _on_session_begin(self, session: Session, transaction: Any, connection: Any) -> None:
        if self._scopes and id(connection) in self._pinned_connections:
            self._scopes[-1].sessions[session] = None

    def _on_session_transaction(self, session: Session, transaction: Any) -> None:
        """A second session on the connection a session uses joins that session's transaction.

        SQLAlchemy-Continuum and audit logs write through ``Session(bind=
        session.connection())``. In production that connection is in a plain
        transaction, so the second session joins it without a savepoint of its
        own and never commits it; here it is in the first session's savepoint,
        where SQLAlchemy's default would stack a savepoint on top, which the
        first session's commit then ends out of order. Joining it as production
        does keeps both sessions' bookkeeping straight.
        """
        if (
            transaction.parent is None
            and id(session.bind) in self._pinned_connections
            and not self.integration.is_routed_session(session)
            and session.join_transaction_mode == "conditional_savepoint"
        ):
            session.join_transaction_mode = "rollback_only"

    def _on_insert(self, session: Session, instance: Any) -> None:
        if self._scopes:
            self._scopes[-1].inserted.append((session, instance))
        else:
            self._run_wrote = True

    def _restart_for_ddl(self) -> None:
        """Restart id counters where that takes DDL: outside the outer transaction.

        ALTER TABLE commits on MySQL/MariaDB, and from another connection it
        would wait for the locks the outer transaction holds: end the outer
        transaction, reset, and open the same scopes again. That is only
        correct while no enclosing scope holds rows.
        """
        if self._run_wrote or any(scope.inserted for scope in self._scopes):
            raise TestbedError(
                "reset_sequences on MySQL/MariaDB restarts AUTO_INCREMENT with ALTER TABLE, "
                "which commits: it cannot keep the rows that module-, class- or "
                "session-scoped fixtures wrote. Use it where no such data is shared, "
                "or with strategy='truncate'"
            )
        depth = len(self._scopes)
        self.close()
        reset_all_sequences(self.integration)
        self.open()
        for _ in range(depth):
            self.enter()

    def heal(self) -> None:
        """Start over after a commit behind our back: nothing rolls it back, so empty it all.

        DDL that committed may have dropped the models' tables or made others:
        the schema is restored as the run built it. The scopes are opened again
        whatever happens, so the next test's scope bookkeeping stays whole.
        """
        depth = len(self._scopes)
        for pinned in self.pins:
            # Every table is emptied below, whatever another engine's reply says;
            # read here, it cannot fail close() halfway through.
            with contextlib.suppress(ReplyFailed):
                pinned.settle()
            forget_savepoints(pinned)  # they are gone with the transaction
        self.close()
        try:
            restore_schema(self.integration, self.inventory)
        finally:
            self.open()
            for _ in range(depth):
                self.enter()


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
