"""Running one generated suite in a subprocess, and reading back its timings.

Each run is a fresh ``python -m pytest`` in the project directory of its
approach, so that no approach inherits another's imports, engines or caches.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .approaches import Approach
from .synth import write_project

TIMING_PLUGIN = Path(__file__).with_name("timing_plugin.py")
ROOT = Path(__file__).resolve().parents[1]
#: a directory holding a ``flask_testbed`` package that shadows the installed one
#: (see :func:`use_plugin_revision`); None measures the installed plugin
PLUGIN_PATH: Path | None = None
COMMON_ARGS = ["-q", "-x", "--tb=short", "-p", "bench_timing", "-p", "no:cacheprovider"]


@dataclass
class RunResult:
    """One run of one suite: per-test seconds, and what went wrong if anything did."""

    approach: str
    tests: int
    wall: float
    totals: list[float] = field(default_factory=list)
    setups: list[float] = field(default_factory=list)
    calls: list[float] = field(default_factory=list)
    teardowns: list[float] = field(default_factory=list)
    sessionstart: float | None = None
    factory: str | None = None
    error: str | None = None
    nodeids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def stats(self) -> dict[str, Any]:
        """Per-test milliseconds: median and mean of the whole, medians of each phase."""
        if not self.totals:
            return {"error": self.error}
        ms = 1e3
        return {
            "tests": len(self.totals),
            "median_ms": statistics.median(self.totals) * ms,
            "mean_ms": statistics.fmean(self.totals) * ms,
            "setup_ms": statistics.median(self.setups) * ms,
            "call_ms": statistics.median(self.calls) * ms,
            "teardown_ms": statistics.median(self.teardowns) * ms,
            "first_setup_ms": self.setups[0] * ms,
            "last_teardown_ms": self.teardowns[-1] * ms,
            "sessionstart_ms": (self.sessionstart or 0.0) * ms,
            "wall_s": self.wall,
            "error": self.error,
        }


def paired(result: RunResult, floor: RunResult) -> dict[str, float]:
    """Median per-test differences to the floor's same test (run side by side), in ms.

    ``total_ms`` is the overhead; ``boundary_ms`` the part at the test's edges
    (setup + teardown, where isolation lives), ``call_ms`` what isolation does
    to the cost of the test's own statements.
    """
    base = {
        nodeid: (s, c, t)
        for nodeid, s, c, t in zip(
            floor.nodeids, floor.setups, floor.calls, floor.teardowns, strict=True
        )
    }
    diffs: dict[str, list[float]] = {"total_ms": [], "boundary_ms": [], "call_ms": []}
    for nodeid, s, c, t in zip(
        result.nodeids, result.setups, result.calls, result.teardowns, strict=True
    ):
        if nodeid not in base:
            continue
        fs, fc, ft = base[nodeid]
        diffs["total_ms"].append((s + c + t) - (fs + fc + ft))
        diffs["boundary_ms"].append((s + t) - (fs + ft))
        diffs["call_ms"].append(c - fc)
    if not diffs["total_ms"]:
        return {}
    return {key: statistics.median(values) * 1e3 for key, values in diffs.items()}


def prepare(
    directory: Path,
    approach: Approach,
    tables: int,
    tests: int,
    requests: int = 1,
    loads: str = "get",
) -> Path:
    """Write the generated project of ``approach`` into ``directory`` and return it.

    ``loads``: how the app's views load a row (see :data:`.synth.LOADS`).
    """
    write_project(directory, tables, tests, requests, approach.app, loads)
    (directory / "pytest.ini").write_text(approach.ini)
    conftest = directory / "conftest.py"
    if approach.conftest is None:
        conftest.unlink(missing_ok=True)
    else:
        conftest.write_text(approach.conftest)
    shutil.copy(TIMING_PLUGIN, directory / "bench_timing.py")
    return directory


def run_suite(
    directory: Path,
    approach: Approach,
    database_url: str,
    extra_args: tuple[str, ...] = (),
    extra_env: dict[str, str] | None = None,
    timeout: float = 1800.0,
) -> RunResult:
    """Run the project in ``directory`` once and return its per-test timings."""
    timings = directory / "timings.json"
    timings.unlink(missing_ok=True)
    env = environment(directory, approach, database_url)
    env["BENCH_TIMINGS"] = str(timings)
    env.update(extra_env or {})
    start = time.perf_counter()
    try:
        process = subprocess.run(
            command(approach, database_url, extra_args),
            cwd=directory, env=env, capture_output=True, text=True, timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return RunResult(approach.key, 0, timeout, error=f"timed out after {timeout:.0f} s")
    wall = time.perf_counter() - start
    result = read_timings(timings, approach, wall)
    if process.returncode != 0:
        output = tail(process.stdout + process.stderr)
        result.error = f"{result.error}\n{output}" if result.error else output
    return result


def use_plugin_revision(revision: str, directory: Path) -> str:
    """Measure the plugin as committed at ``revision``, not the working tree.

    Someone editing ``src/`` during a twenty-minute run would otherwise have
    the runs measure different code. The package is exported with ``git
    archive`` and put first on the runs' ``PYTHONPATH`` (the editable install
    is a plain path entry, which ``PYTHONPATH`` precedes). Returns the commit.
    """
    global PLUGIN_PATH
    commit = subprocess.run(
        ["git", "rev-parse", "--short", f"{revision}^{{commit}}"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()
    directory.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, "src/flask_testbed"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive, check=True)
    PLUGIN_PATH = directory / "src"
    return commit


def use_plugin_path(path: Path | None) -> None:
    """Measure the plugin exported at ``path`` by :func:`use_plugin_revision` (None: installed)."""
    global PLUGIN_PATH
    PLUGIN_PATH = path


def command(approach: Approach, database_url: str, extra_args: tuple[str, ...] = ()) -> list[str]:
    """The pytest command line of one run of ``approach``."""
    return [
        sys.executable, "-m", "pytest", *COMMON_ARGS,
        *approach.pytest_args(database_url), *extra_args,
    ]


def plugin_options(directory: Path, database_url: str) -> set[str]:
    """The long options the installed plugin (and pytest) know, from ``pytest --help``."""
    env = environment(directory, None, database_url)
    process = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"],
        cwd=directory, env=env, capture_output=True, text=True, timeout=300,
    )
    return set(re.findall(r"(?<![\w-])--[a-z][\w-]*", process.stdout))


def environment(directory: Path, approach: Approach | None, database_url: str) -> dict[str, str]:
    """The environment of a run: the project first on the path, no stray settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TESTBED_", "BENCH_", "PYTEST_"))
    }
    paths = [str(directory)]
    if PLUGIN_PATH is not None:
        paths.append(str(PLUGIN_PATH))
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["BENCH_DATABASE_URL"] = database_url
    if approach is not None:
        env["BENCH_ISOLATED"] = "1" if approach.isolated else "0"
        env["BENCH_FACTORY"] = "testbed" if approach.uses_plugin else "plain"
    return env


def read_timings(path: Path, approach: Approach, wall: float) -> RunResult:
    """The RunResult of the JSON the timing plugin wrote at ``path``."""
    if not path.exists():
        return RunResult(approach.key, 0, wall, error="the run wrote no timings")
    data = json.loads(path.read_text())
    result = RunResult(
        approach.key,
        len(data["tests"]),
        wall,
        sessionstart=data.get("sessionstart"),
        factory=data.get("factory"),
    )
    for test in data["tests"]:
        if test["outcome"] != "passed":
            result.error = f"{test['nodeid']} {test['outcome']}: {test.get('error', '')}"
            break
        phases = [test.get(when, 0.0) for when in ("setup", "call", "teardown")]
        result.nodeids.append(test["nodeid"])
        result.setups.append(phases[0])
        result.calls.append(phases[1])
        result.teardowns.append(phases[2])
        result.totals.append(sum(phases))
    return result


def tail(output: str, lines: int = 15) -> str:
    return "\n".join(output.strip().splitlines()[-lines:])
