"""A pytest plugin, copied into a generated project, that measures the plugin's per-test path.

Two modes, chosen by ``$BENCH_HOTPATH``:

- ``timers``: wraps the functions the plugin runs for every test (and every
  statement) with a clock, and pytest's fixture setup and finish by fixture
  name. One ``perf_counter`` pair per call costs far less than a profiler's
  hook on every Python call, so the microseconds are close to the real ones.
- ``cprofile``: runs cProfile around every test but the first and the last
  (they carry the session's setup and teardown) to find what else costs.

Results go to ``$BENCH_HOTPATH_OUT`` (JSON for timers, a pstats file for cProfile).
"""

from __future__ import annotations

import cProfile
import functools
import importlib
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _pytest.fixtures import FixtureDef

#: module:qualname of what runs per test or per statement; missing ones are reported, not fatal
TARGETS = (
    "flask_testbed.scopes:Scopes.enter_test",
    "flask_testbed.scopes:Scopes.enter_scope",
    "flask_testbed.scopes:Scopes.leave",
    "flask_testbed.isolation.transaction:TransactionIsolation.enter",
    "flask_testbed.isolation.transaction:TransactionIsolation.leave",
    "flask_testbed.isolation.transaction:TransactionIsolation._forget_nested",
    "flask_testbed.isolation.transaction:TransactionIsolation._on_session_begin",
    "flask_testbed.isolation.transaction:TransactionIsolation._on_insert",
    "flask_testbed.isolation.pinning:PinnedEngine.run",
    "flask_testbed.isolation.pinning:PinnedEngine.send",
    "flask_testbed.isolation.pinning:PinnedEngine.settle",
    "flask_testbed.isolation.cleanup:_CommittingIsolation.leave",
    "flask_testbed.database.writes:WriteTracker._seen",
    "flask_testbed.guards.access:AccessBlocker._check",
    "flask_testbed.guards.leaks:LeakCheck.leaked_rows",
    "flask_testbed.client:make_client",
    # What the plugin asks SQLAlchemy to do at the end of each test (and the app's commit).
    "sqlalchemy.orm.session:Session.rollback",
    "sqlalchemy.orm.session:Session.expunge",
    "sqlalchemy.orm.session:Session.expire_all",
    "sqlalchemy.orm.session:Session.commit",
)
#: replaced by the plugin when its run starts: wrapped at the first test instead
LATE_TARGETS = ("flask_sqlalchemy.session:Session.get_bind",)
MODE = os.environ.get("BENCH_HOTPATH", "timers")
_samples: dict[str, list[float]] = defaultdict(list)
_missing: list[str] = []
_state: dict[str, Any] = {"tests": 0, "profiler": None}


def _timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    samples = _samples[name]
    clock = time.perf_counter

    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = clock()
        try:
            return function(*args, **kwargs)
        finally:
            samples.append(clock() - start)

    return timed


def _wrap(target: str) -> None:
    module_name, _, qualname = target.partition(":")
    try:
        owner: Any = importlib.import_module(module_name)
        *path, attr = qualname.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = owner.__dict__[attr]
    except (ImportError, AttributeError, KeyError):
        _missing.append(target)
        return
    if isinstance(original, staticmethod | classmethod):
        wrapped: Any = type(original)(_timed(qualname, original.__func__))
    else:
        wrapped = _timed(qualname, original)
    setattr(owner, attr, wrapped)
    if not path:  # a module function: also where other modules imported it by name
        for name, module in list(sys.modules.items()):
            if name.startswith("flask_testbed") and getattr(module, attr, None) is original:
                setattr(module, attr, wrapped)


def pytest_configure(config: pytest.Config) -> None:
    if MODE != "timers":
        return
    for target in TARGETS:
        _wrap(target)
    original_finish = FixtureDef.finish

    def finish(self: FixtureDef, request: Any) -> None:
        start = time.perf_counter()
        try:
            original_finish(self, request)
        finally:
            _samples[f"fixture teardown: {self.argname}"].append(time.perf_counter() - start)

    FixtureDef.finish = finish  # type: ignore[method-assign]


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: FixtureDef, request: pytest.FixtureRequest) -> Iterator[Any]:
    if MODE != "timers":
        return (yield)
    start = time.perf_counter()
    try:
        return (yield)
    finally:
        _samples[f"fixture setup: {fixturedef.argname}"].append(time.perf_counter() - start)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    if MODE == "timers" and not _state.get("late"):
        _state["late"] = True
        for target in LATE_TARGETS:
            _wrap(target)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[Any]:
    _state["tests"] += 1
    profiler = _state["profiler"]
    profile = MODE == "cprofile" and _state["tests"] > 1 and nextitem is not None
    if profile:
        if profiler is None:
            profiler = _state["profiler"] = cProfile.Profile()
        profiler.enable()
    try:
        return (yield)
    finally:
        if profile:
            profiler.disable()
            _state["profiled"] = _state.get("profiled", 0) + 1


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = os.environ.get("BENCH_HOTPATH_OUT")
    if not out:
        return
    if MODE == "cprofile":
        if _state["profiler"] is not None:
            _state["profiler"].dump_stats(out)
            with open(out + ".json", "w") as handle:
                json.dump({"profiled_tests": _state.get("profiled", 0)}, handle)
        return
    with open(out, "w") as handle:
        json.dump({"tests": _state["tests"], "missing": _missing, "samples": _samples}, handle)
