"""Data at the wrong scope: rows a fixture writes that its scope cannot keep."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from ..database.writes import WriteTracker
from ..errors import TestbedError


class WrongScopeData(TestbedError):
    """A session-scoped fixture wrote rows that the strategy will wipe after one test."""


def needs_watching(scope: str, strategy: str, shared: bool) -> bool:
    """Whether a fixture of ``scope`` must be watched while it sets up.

    Only two cases are watched, so the cost falls on those fixtures alone:
    session-scoped data under a strategy that wipes it after every test, and
    function-scoped data in a ``client_module`` flow, where it piles up.
    """
    if scope == "session":
        return strategy != "transaction"
    return scope == "function" and shared


def judge(fixturedef: Any, tracker: WriteTracker, strategy: str, nodeid: str) -> None:
    if not tracker.dirty:
        return
    tables = ", ".join(sorted(tracker.tables)) or "tables it ran raw SQL on"
    name = fixturedef.argname
    if fixturedef.scope == "session":
        error = WrongScopeData(
            f"session-scoped fixture {name!r} wrote rows ({tables}), but the {strategy!r} "
            "strategy empties the database after every test, so they would be gone after "
            "the first one: make the fixture function-scoped, or use the 'transaction' "
            "strategy, which rolls each test back to session data"
        )
        pytest.fail(str(error), pytrace=False)
    warnings.warn(
        pytest.PytestWarning(
            f"function-scoped fixture {name!r} wrote rows ({tables}) in {nodeid}, which uses "
            "client_module: they pile up across the module's tests; make the fixture "
            "module-scoped to match the client"
        ),
        stacklevel=1,
    )
