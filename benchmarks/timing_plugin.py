"""A pytest plugin, copied into each generated project, that times the tests from inside.

Timing inside the run leaves out what every approach pays alike and what is
not isolation: interpreter start-up, imports, collection. For each test it
keeps pytest's own durations of setup, call and teardown (the isolation work
of every approach lives in its fixtures, so in setup and teardown; a strategy
also changes what the test's own statements cost, which shows in call). It
also times ``pytest_sessionstart`` (where the plugin loads and checks the app),
and writes everything as JSON to ``$BENCH_TIMINGS`` when the session ends.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

_tests: dict[str, dict[str, Any]] = {}
_session: dict[str, float] = {}


@pytest.hookimpl(wrapper=True)
def pytest_sessionstart(session: pytest.Session) -> Iterator[None]:
    start = time.perf_counter()
    try:
        return (yield)
    finally:
        _session["sessionstart"] = time.perf_counter() - start


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = _tests.setdefault(report.nodeid, {"outcome": "passed"})
    entry[report.when] = report.duration
    if report.failed:
        entry["outcome"] = "failed"
        entry.setdefault("error", str(report.longreprtext)[-2000:])
    elif report.skipped and entry["outcome"] == "passed":
        entry["outcome"] = "skipped"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = os.environ.get("BENCH_TIMINGS")
    if not path:
        return
    factories = sys.modules.get("benchfactories")
    data = {
        "exitstatus": int(exitstatus),
        "sessionstart": _session.get("sessionstart"),
        "factory": getattr(factories, "BASE_NAME", None),
        "tests": [{"nodeid": nodeid, **entry} for nodeid, entry in _tests.items()],
    }
    with open(path, "w") as handle:
        json.dump(data, handle)
