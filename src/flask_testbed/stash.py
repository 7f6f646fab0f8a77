"""What the plugin keeps on pytest's nodes and config, shared by hooks and fixtures."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest

from .config import Settings
from .harness import Harness
from .resets import Resets
from .scopes import TestPlan
from .wider import OpenScope, RunOrder

SETTINGS = pytest.StashKey[Settings]()
HARNESS = pytest.StashKey[Harness]()
#: what a test that uses the database asks of it; absent for other tests
PLAN = pytest.StashKey[TestPlan]()
#: the strategy of a module or class that holds database tests
STRATEGY = pytest.StashKey[str]()
#: the tests this run executes, in order (built when the first module begins)
RUN_ORDER = pytest.StashKey[RunOrder]()
#: the savepoints the plugin holds for modules, classes and tests, outermost first
OPEN_SCOPES = pytest.StashKey[list[OpenScope]]()
#: the test being set up, run or torn down
CURRENT = pytest.StashKey["pytest.Item | None"]()
#: what runs after each database test to reset the app's in-memory state
RESETS = pytest.StashKey[Resets]()
#: an error of the run itself (its schema could not be built or dropped): reported once, at its end
RUN_ERROR = pytest.StashKey[str]()


def announcer(config: pytest.Config) -> Callable[[str], None]:
    """A way to tell the user something right away, even from inside a captured fixture."""

    def say(message: str) -> None:
        capture = config.pluginmanager.getplugin("capturemanager")
        reporter = config.pluginmanager.getplugin("terminalreporter")
        if reporter is None:
            return
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            reporter.write_line(f"flask-testbed: {message}")

    return say

