"""Where the plugin's per-test microseconds go: timers and cProfile on the synthetic suite.

    python -m benchmarks.hotpath --backend postgresql
    python -m benchmarks.hotpath --backend sqlite --strategy truncate --top 30

Runs the benchmark's suite under the plugin twice: once with a clock around
each function the plugin runs per test or per statement (and around pytest's
setup and finish of each fixture), once under cProfile. Prints microseconds
per test. The timers are the numbers to quote; cProfile's are inflated by its
own cost per call, and are there to find what the timers do not cover.
"""

from __future__ import annotations

import argparse
import json
import pstats
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from .approaches import APPROACHES
from .backends import BACKENDS, DEFAULT_URLS, BenchDatabase
from .runner import prepare, run_suite, use_plugin_revision
from .synth import add_loads_option

PLUGIN = Path(__file__).with_name("hotpath_plugin.py")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hotpath", description=__doc__)
    parser.add_argument("--backend", choices=BACKENDS, default="postgresql")
    parser.add_argument("--strategy", choices=("transaction", "truncate", "recreate"),
                        default="transaction")
    parser.add_argument("--tables", type=int, default=50)
    parser.add_argument("--tests", type=int, default=300)
    parser.add_argument("--requests", type=int, default=1,
                        help="requests per test (see benchmarks.synth); more show a request's path")
    add_loads_option(parser)
    parser.add_argument("--top", type=int, default=25, help="rows of the cProfile listing")
    parser.add_argument("--everything", action="store_true",
                        help="list every function in the cProfile table (Flask's, SQLAlchemy's, "
                        "the driver's), not only the plugin's")
    parser.add_argument("--url", default=None, help="a database on the server (default: env)")
    parser.add_argument("--plugin-rev", default=None, metavar="REV",
                        help="profile the plugin as committed at this git revision")
    args = parser.parse_args(argv)
    approach = APPROACHES[args.strategy]
    with tempfile.TemporaryDirectory(prefix="testbed-hotpath-") as tmp:
        workdir = Path(tmp)
        revision = ""
        if args.plugin_rev:
            revision = ", plugin at " + use_plugin_revision(args.plugin_rev, workdir / "plugin")
        bench = BenchDatabase(args.backend, workdir / "db",
                              args.url or DEFAULT_URLS.get(args.backend))
        project = prepare(workdir / "project", approach, args.tables, args.tests, args.requests,
                          args.loads)
        shutil.copy(PLUGIN, project / "bench_hotpath.py")
        try:
            timers = _run(project, approach, bench, "timers", workdir / "timers.json")
            profile = _run(project, approach, bench, "cprofile", workdir / "profile.pstats")
            print(f"# {args.strategy} on {bench.version()}, T={args.tables}, "
                  f"N={args.tests}, {args.requests} request(s) per test{revision}\n")
            print(timer_table(json.loads(timers.read_text())))
            print()
            print(profile_table(profile, args.top, args.everything))
        finally:
            bench.drop()
    return 0


def _run(project: Path, approach: Any, bench: BenchDatabase, mode: str, out: Path) -> Path:
    env = {"BENCH_HOTPATH": mode, "BENCH_HOTPATH_OUT": str(out)}
    result = run_suite(project, approach, bench.fresh(), ("-p", "bench_hotpath"), env)
    if result.error:
        raise SystemExit(f"the {mode} run failed:\n{result.error}")
    return out


def timer_table(data: dict[str, Any]) -> str:
    """Median µs per call, calls per test, and their product: µs per test."""
    tests = data["tests"]
    rows = []
    for name, samples in data["samples"].items():
        if not samples:
            continue
        per_call = statistics.median(samples) * 1e6
        calls = len(samples) / tests
        rows.append((per_call * calls, name, per_call, calls))
    rows.sort(reverse=True)
    lines = [
        "| what (timers) | µs per call (median) | calls per test | µs per test |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {n} | {c:.1f} | {k:.2f} | {t:.1f} |" for t, n, c, k in rows if k >= 0.5]
    if data.get("missing"):
        lines.append("\nnot in this version of the plugin: " + ", ".join(data["missing"]))
    return "\n".join(lines)


def profile_table(path: Path, top: int, everything: bool = False) -> str:
    """The plugin's own functions (or all) by inclusive time per test, under cProfile."""
    tests = json.loads(path.with_name(path.name + ".json").read_text())["profiled_tests"]
    stats = pstats.Stats(str(path))
    rows = []
    for (filename, line, function), entry in stats.stats.items():  # type: ignore[attr-defined]
        calls, _primitive, own, inclusive = entry[0], entry[1], entry[2], entry[3]
        if everything or "flask_testbed" in filename or "bench_timing" in filename:
            where = _short(filename)
            rows.append((inclusive / tests * 1e6, own / tests * 1e6, calls / tests,
                         f"{where}:{line} {function}"))
    rows.sort(reverse=True)
    lines = [
        f"cProfile over {tests} tests (inflated by the profiler; for ranking)",
        "",
        f"| {'function' if everything else 'plugin function'} "
        "| inclusive µs per test | own µs per test | calls per test |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {n} | {i:.1f} | {o:.1f} | {c:.2f} |" for i, o, c, n in rows[:top]]
    return "\n".join(lines)


def _short(filename: str) -> str:
    """A function's file as a reader finds it: from its package on (site-packages cut)."""
    for marker in ("flask_testbed/", "site-packages/", "lib/python"):
        if marker in filename:
            return filename.split(marker)[-1]
    return filename


if __name__ == "__main__":
    sys.exit(main())
