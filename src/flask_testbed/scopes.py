"""The scopes of a run: a module, a class or a test begins and ends in its sandbox.

The harness (:mod:`.harness`) owns the databases of a run; this part of it
decides, for each scope pytest enters, which isolation holds its writes, and
what a test gets of its own besides: its app context, its config, its
threads watched, its leaks checked.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import TestbedError
from .guards import threads
from .isolation import Isolation, make_isolation
from .isolation.turns import turns
from .live_server import RequestOutlivedTest, wait_for_late_request, wait_for_requests

if TYPE_CHECKING:
    from flask import Flask

    from .config import Settings
    from .configstate import ConfigKeeper
    from .contexts import Contexts
    from .database.inventory import Inventory
    from .guards.access import AccessBlocker
    from .guards.leaks import LeakCheck


class LeakDetected(TestbedError):
    """Rows committed behind the isolation's back."""


@dataclass(frozen=True)
class TestPlan:
    """What one test asks of the database: its marker's arguments and its fixtures."""

    __test__ = False

    strategy: str
    #: it continues its module's client_module flow
    shared: bool = False
    #: app.config values for this test only
    config: Mapping[str, Any] | None = None
    reset_sequences: bool = False


@dataclass
class ScopeToken:
    """What :meth:`Harness.enter` hands out and :meth:`Harness.leave` takes back."""

    isolation: Isolation
    generation: int
    shared: bool
    #: a test's scope (not a module's or class's): it runs in an app context of its own
    test: bool = False
    #: a test's: the threads alive when it began (those it starts must not outlive it)
    threads: Sequence[Any] = ()


class Scopes:
    """Entering and leaving scopes; mixed into :class:`~.harness.Harness`, which sets these."""

    app: Flask
    integration: Any
    settings: Settings
    config: ConfigKeeper
    contexts: Contexts
    blocker: AccessBlocker
    inventory: Inventory
    _leaks: LeakCheck | None
    _isolations: dict[str, Isolation]
    _active: Isolation | None
    _generation: int
    _later_engines: list[Any]

    def enter_scope(self, strategy: str) -> ScopeToken:
        """A module or class with database tests begins."""
        with self.blocker.allowed():
            isolation = self._activate(strategy)
            isolation.enter()
        return ScopeToken(isolation, self._generation, shared=False)

    def enter_test(self, plan: TestPlan) -> ScopeToken:
        with self.blocker.allowed():
            isolation = self._activate(plan.strategy)
            isolation.enter(plan.shared, self.settings.reset_sequences or plan.reset_sequences)
        # Each test gets back the config it started with, and runs in an app
        # context of its own (so does each of its requests).
        token = ScopeToken(
            isolation,
            self._generation,
            plan.shared,
            test=True,
            threads=threads.threads_now(),
        )
        self.config.remember()
        if plan.config:
            self.app.config.update(plan.config)
        self.contexts.push_test()
        turns.test_thread = threading.get_ident()  # the one a live server's request holds up
        return token

    def leave(self, token: ScopeToken, nodeid: str = "") -> None:
        # A strategy switch ended this scope already, along with its data.
        current = token.generation == self._generation and token.isolation is self._active
        outlived = None
        if token.test:
            # Before the rollback: a statement the test's threads send later is refused.
            threads.mark_outliving(token.threads, nodeid)
            try:
                wait_for_requests(nodeid)
            except RequestOutlivedTest as exc:
                outlived = exc
        try:
            if current:
                with self.blocker.allowed():
                    # Before the test's context goes: its session's rollback is then
                    # bookkeeping, the scope's rollback having ended its savepoint.
                    token.isolation.leave(token.shared, nodeid)
        finally:
            if token.test:
                self.contexts.pop_test()
                self.config.restore()
        if current and token.test and self._leaks is not None:
            with self.blocker.allowed():
                self._check_leaks(token.isolation, nodeid)
        if token.test:
            threads.report_refused()
        if outlived is not None:
            raise outlived

    def settle(self) -> None:
        """Before a test's fixtures: finish what the previous test's end left in flight."""
        late = wait_for_late_request()
        if self._active is not None:
            with self.blocker.allowed():
                self._active.settle()
                if late and self._active.commits() is None:
                    # Its commits were real (truncate, recreate), after the tables
                    # were emptied: empty them again. (Under transaction its
                    # statements were refused.)
                    self._active.heal()

    def statements_run(self) -> int:
        """How many statements the app ran on the pinned connections so far (0 if none)."""
        return self._active.statements() if self._active is not None else 0

    def empty(self) -> None:
        assert self._active is not None
        with self.blocker.allowed():
            self._active.empty()

    def _check_leaks(self, isolation: Isolation, nodeid: str) -> None:
        assert self._leaks is not None
        leaked = self._leaks.leaked_rows()
        if not leaked:
            return
        isolation.heal()
        counts = ", ".join(f"{table}: {count}" for table, count in sorted(leaked.items()))
        raise LeakDetected(
            f"{nodeid} leaked rows past the isolation ({counts}): they were committed "
            "behind the plugin's back, through a connection SQLAlchemy did not make (the "
            "driver's own connect(), another process); every table was emptied so the "
            "next test starts clean"
        )

    def _sandbox(self) -> Isolation | None:
        return self._active

    def _activate(self, strategy: str) -> Isolation:
        isolation = self._isolations.get(strategy)
        if isolation is None:
            isolation = self._isolations[strategy] = make_isolation(
                strategy, self.integration, self.inventory
            )
        if isolation is not self._active:
            if self._active is not None:
                self._active.close()
            isolation.open()
            isolation.adopt(self._later_engines)
            self._active = isolation
            self._generation += 1
        return isolation
