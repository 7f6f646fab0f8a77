"""A pytest plugin, copied into each generated project, that times the tests from inside.

Timing inside the run leaves out what every approach pays alike and what is
not isolation: interpreter start-up, imports, collection. For each test it
keeps pytest's own durations of setup, call and teardown (the isolation work
of every approach lives in its fixtures, so in setup and teardown; a strategy
also changes what the test's own statements cost, which shows in call). It
also times ``pytest_sessionstart`` (where the plugin loads and checks the app),
and writes everything as JSON to ``$BENCH_TIMINGS`` when the session ends.

Under a conductor (``$BENCH_LOCKSTEP_GO`` / ``$BENCH_LOCKSTEP_DONE``, two pipe
file descriptors) each test waits for a byte before it starts and sends one
when it is over: the runs of several approaches then take turns test by test,
so that a slow minute of the machine slows all of them alike.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

_tests: dict[str, dict[str, Any]] = {}
_session: dict[str, float] = {}
_GO = os.environ.get("BENCH_LOCKSTEP_GO")
_DONE = os.environ.get("BENCH_LOCKSTEP_DONE")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[Any]:
    if _GO is None or _DONE is None:
        return (yield)
    os.read(int(_GO), 1)  # b"" when the conductor is gone: run freely
    try:
        return (yield)
    finally:
        with contextlib.suppress(OSError):
            os.write(int(_DONE), b".")


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
