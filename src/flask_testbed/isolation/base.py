"""The interface every isolation strategy implements.

The harness calls these at pytest's scope boundaries; a strategy decides what
"start of a scope" and "end of a scope" mean for the database. Scopes nest:
the run, then each module or class that holds database tests, then each test.
"""

from __future__ import annotations

from typing import Any, Protocol


class Isolation(Protocol):
    name: str

    def open(self) -> None:
        """The run (or a switch to this strategy) begins."""

    def close(self) -> None:
        """The run ends, or another strategy takes over."""

    def enter(self, shared: bool = False, reset_sequences: bool = False) -> None:
        """A scope (module, class, test) begins: what it writes can be undone.

        A ``shared`` scope is a test of a ``client_module`` flow: it starts
        from the state the previous test of the module left. With
        ``reset_sequences`` the ids the scope generates start after the
        highest existing one.
        """

    def leave(self, shared: bool = False, test: str = "") -> None:
        """The innermost scope ends: undo what it wrote, or hand it outwards if ``shared``.

        ``test`` is the node id of the test that ends, for messages.
        """

    def adopt(self, engines: list[Any]) -> None:
        """Engines of an app built during the run, on the run's databases, join this strategy."""

    def settle(self) -> None:
        """Finish what the end of the last scope left in flight (a rollback's reply).

        Called before a test's fixtures are set up; raises if it failed.
        """

    def statements(self) -> int:
        """A count that grows whenever the app runs a statement whose effect a rollback undoes.

        A fixture that grew it inside a savepoint depends on that savepoint's
        rows. Strategies without savepoints return 0.
        """

    def commits(self) -> int | None:
        """A count that grows whenever something commits inside the sandbox.

        Requests that commit nothing leave the objects the test holds as they
        are. None where commits are real and not counted: every request may
        have changed rows.
        """

    def transaction_failed(self) -> bool:
        """Whether a failed statement left the test's transaction usable only after a rollback.

        PostgreSQL refuses every statement after an error until the
        transaction rolls back to before it. Only where the test and its
        requests share one transaction can that reach a request.
        """
        return False

    def empty(self) -> None:
        """Delete every row of every table now (the ``clean_database`` fixture)."""

    def heal(self) -> None:
        """Start over from empty tables after a leak, keeping the scopes that are open."""
