"""The hooks a project can implement in its ``conftest.py`` (or a plugin of its own)."""

from __future__ import annotations

import pytest
from flask import Flask


@pytest.hookspec
def pytest_testbed_reset(app: Flask) -> None:
    """Reset in-memory state of ``app`` after each test that used it.

    Called after each database test, while the test's app context is still
    pushed, before its database scope ends and its ``app.config`` comes back.
    Empty what outlives a test in the process itself (a module-level cache, a
    fake mail outbox, a counter) so that the next test starts as the first did.
    Every implementation runs, wherever its ``conftest.py`` lives.
    """
