"""Isolation cost per test: flask-testbed against the approaches users write by hand.

    python -m benchmarks.isolation            # everything: 20-30 minutes on 2 cores
    python -m benchmarks.isolation --quick    # N=50, T in {10, 50}, one run: about 2 minutes
    python -m benchmarks.isolation --backends sqlite --tables 10 --tests 20

For each backend and schema size T it generates a synthetic app and a suite of
N tests, and runs that suite in a fresh subprocess per approach: no isolation
(the floor), seed 001's drop-and-recreate, seed 000's hand-written outer
transaction, and the plugin's strategies. The cheap approaches run side by
side, one test each in turn (:mod:`.lockstep`), and each one's overhead is the
median difference between its test i and the floor's test i: on a virtual
machine speed drifts by tens of percent in seconds, more than what is measured.
The approaches that rebuild the schema per test cost so much more that they
simply run one after the other.
Results go to ``benchmarks/results/`` (``--quick``: ``benchmarks/results/quick/``).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import report
from .approaches import APPROACHES, REUSE_DB_OPTIONS, Approach
from .backends import BACKENDS, DEFAULT_URLS, BenchDatabase, reachable
from .lockstep import run_lockstep
from .runner import (
    RunResult,
    paired,
    plugin_options,
    prepare,
    run_suite,
    use_plugin_revision,
)
from .startup import session_start
from .summary import FLOOR, cell, compare, targets

RESULTS = Path(__file__).with_name("results")
#: a run of an approach that rebuilds the schema per test has this many table x tests
SLOW_BUDGET, QUICK_SLOW_BUDGET, MIN_SLOW_TESTS = 300, 250, 5
#: runs per cell of an approach that rebuilds the schema: its cost dwarfs the noise
SLOW_REPEATS = 3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.isolation",
        description="Per-test isolation cost of flask-testbed against hand-written approaches.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="N=50, T in {10, 50}, one run per cell (about 2 minutes)")
    parser.add_argument("--backends", type=_names(BACKENDS), default=list(BACKENDS),
                        help="comma-separated: sqlite, postgresql, mariadb (default: all)")
    parser.add_argument("--tables", type=_ints, default=None,
                        help="comma-separated schema sizes, multiples of 5 (default 10,50,200)")
    parser.add_argument("--tests", type=int, default=None, help="tests per suite (default 300)")
    parser.add_argument("--requests", type=int, default=1,
                        help="requests per test, POST and GET in turn (default 1)")
    parser.add_argument("--repeats", type=int, default=None,
                        help=f"runs per cell (default 3; at most {SLOW_REPEATS} for the "
                        "approaches that rebuild the schema; quick 1)")
    parser.add_argument("--approaches", type=_names(tuple(APPROACHES)), default=list(APPROACHES),
                        help="comma-separated subset of: " + ", ".join(APPROACHES)
                        + " (the floor, 'none', is always run)")
    parser.add_argument("--slow-budget", type=int, default=None,
                        help="tables x tests per run of an approach that rebuilds the schema per "
                        f"test (default {SLOW_BUDGET}, quick {QUICK_SLOW_BUDGET})")
    parser.add_argument("--postgresql-url", default=DEFAULT_URLS["postgresql"],
                        help="a database on the PostgreSQL server (env "
                        "TESTBED_TEST_POSTGRESQL_URL); the benchmark creates its own beside it")
    parser.add_argument("--mariadb-url", default=DEFAULT_URLS["mariadb"],
                        help="a database on the MariaDB server (env TESTBED_TEST_MARIADB_URL)")
    parser.add_argument("--no-session-start", action="store_true",
                        help="skip timing the session start at the largest T")
    parser.add_argument("--plugin-rev", default=None, metavar="REV",
                        help="measure the plugin as committed at this git revision (e.g. HEAD) "
                        "instead of the installed working tree")
    parser.add_argument("--output", type=Path, default=None,
                        help="directory for results.json, results.md and overhead.png")
    args = parser.parse_args(argv)
    args.tables = args.tables or ([10, 50] if args.quick else [10, 50, 200])
    args.tests = args.tests or (50 if args.quick else 300)
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.slow_budget = args.slow_budget or (QUICK_SLOW_BUDGET if args.quick else SLOW_BUDGET)
    args.output = args.output or (RESULTS / "quick" if args.quick else RESULTS)
    if FLOOR not in args.approaches:
        args.approaches.insert(0, FLOOR)
    if args.requests < 1:
        parser.error("--requests: each test makes at least one request")
    if any(t < 5 or t % 5 for t in args.tables):
        parser.error("--tables: each size must be a positive multiple of 5")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A plain kill must still drop the benchmark's databases (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    data: dict[str, Any] = {
        "meta": report.machine(),
        "config": {
            "tests": args.tests,
            "requests": args.requests,
            "tables": args.tables,
            "repeats": args.repeats,
            "slow_repeats": min(args.repeats, SLOW_REPEATS),
            "slow_tests": {t: slow_tests(args, t) for t in args.tables},
        },
        "backends": {},
        "skipped": {},
        "factories": {},
        "notes": [],
    }
    with tempfile.TemporaryDirectory(prefix="testbed-bench-") as tmp:
        workdir = Path(tmp)
        if args.plugin_rev:
            commit = use_plugin_revision(args.plugin_rev, workdir / "plugin")
            data["meta"].update(commit=commit, plugin_source_modified=False)
            _log(f"measuring the plugin as committed at {commit}")
        known = _known_options(workdir)
        approaches = []
        for key in args.approaches:
            approach = APPROACHES[key]
            if approach.option and approach.option not in known:
                data["skipped"][key] = f"{approach.option} is not an option of this plugin"
                _log(f"skipping {approach.label}: {approach.option} unknown to the plugin")
            else:
                approaches.append(approach)
        reuse = next((o for o in REUSE_DB_OPTIONS if o in known), None)
        for name in args.backends:
            server = {"postgresql": args.postgresql_url, "mariadb": args.mariadb_url}.get(name)
            if server is not None and (reason := reachable(server)) is not None:
                data["notes"].append(f"{name} skipped: not reachable ({reason})")
                _log(f"skipping {name}: {reason}")
                continue
            bench = BenchDatabase(name, workdir / "db" / name, server)
            try:
                data["backends"][name] = run_backend(args, bench, workdir, approaches, reuse, data)
            finally:
                bench.drop()
    data["targets"] = targets(data["backends"])
    data["config"]["duration_s"] = round(time.perf_counter() - started)
    data["meta"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    for path in report.write(args.output, data):
        _log(f"wrote {path}")
    print(report.main_table(data))
    return 0 if data["backends"] else 1


def run_backend(
    args: argparse.Namespace,
    bench: BenchDatabase,
    workdir: Path,
    approaches: list[Approach],
    reuse: str | None,
    data: dict[str, Any],
) -> dict[str, Any]:
    """Every cell of one backend: the savepoint floor, each T, then the session start.

    Round trips on a virtual machine drift by tens of percent within minutes,
    so the savepoint floor is measured again before each T and the median kept.
    """
    out: dict[str, Any] = {"label": bench.label, "version": bench.version(), "cells": {}}
    floors: list[dict[str, float]] = []
    for tables in args.tables:
        floors.append(bench.savepoint_round_trip())
        _log(f"[{bench.backend} T={tables}] {out['version']}: SAVEPOINT + ROLLBACK TO "
             f"{floors[-1]['median_us']:.1f} µs")
        projects = {
            a.key: prepare(workdir / "projects" / f"T{tables}" / a.key, a, tables,
                           slow_tests(args, tables) if a.slow else args.tests, args.requests)
            for a in approaches
        }
        runs: dict[str, list[dict[str, Any]]] = {a.key: [] for a in approaches}
        for repeat in range(args.repeats):
            for approach in _rotated([a for a in approaches if a.slow], repeat):
                if len(runs[approach.key]) < SLOW_REPEATS and not _broken(runs[approach.key]):
                    result = run_suite(projects[approach.key], approach, bench.fresh())
                    _record(data, runs, bench.backend, tables, repeat, approach, result)
            side_by_side = [a for a in approaches if not a.slow and not _broken(runs[a.key])]
            results = run_lockstep(
                [(projects[a.key], a, bench.fresh(a.key)) for a in side_by_side]
            )
            floor = dict(zip((a.key for a in side_by_side), results, strict=True)).get(FLOOR)
            for approach, result in zip(side_by_side, results, strict=True):
                pair = None
                if floor is not None and floor.ok and result.ok and approach.key != FLOOR:
                    pair = paired(result, floor)
                _record(data, runs, bench.backend, tables, repeat, approach, result, pair)
        out["cells"][tables] = {key: cell(value) for key, value in runs.items()}
    out["savepoint"] = {
        "median_us": statistics.median(f["median_us"] for f in floors),
        "each_us": [round(f["median_us"], 1) for f in floors],
    }
    for cells in out["cells"].values():
        compare(cells, out["savepoint"]["median_us"])
    if not args.no_session_start:
        tables = max(args.tables)
        try:
            out["session_start"] = session_start(
                bench, workdir / "projects" / f"start-T{tables}", tables,
                min(args.repeats, SLOW_REPEATS), reuse, _log,
            )
        except RuntimeError as exc:
            data["notes"].append(f"{bench.backend}: {exc}")
            _log(str(exc))
    return out


def slow_tests(args: argparse.Namespace, tables: int) -> int:
    """Tests per run for an approach whose cost per test grows with the schema."""
    return max(MIN_SLOW_TESTS, min(args.tests, args.slow_budget // tables))


def _known_options(workdir: Path) -> set[str]:
    probe = prepare(workdir / "projects" / "probe", APPROACHES["transaction"], 5, 1)
    return plugin_options(probe, "sqlite://")


def _rotated(approaches: list[Approach], repeat: int) -> list[Approach]:
    """Rotate the order by run, so that no approach always follows the same one."""
    shift = repeat % len(approaches) if approaches else 0
    return approaches[shift:] + approaches[:shift]


def _broken(runs: list[dict[str, Any]]) -> bool:
    """Broken once: do not pay for it again."""
    return bool(runs) and bool(runs[-1].get("error"))


def _record(
    data: dict[str, Any],
    runs: dict[str, list[dict[str, Any]]],
    backend: str,
    tables: int,
    repeat: int,
    approach: Approach,
    result: RunResult,
    pair: dict[str, float] | None = None,
) -> None:
    stats = result.stats()
    if pair:
        stats["paired"] = pair
    runs[approach.key].append(stats)
    if result.factory:
        group = "plugin" if approach.uses_plugin else "hand-written"
        names = data["factories"].setdefault(group, [])
        if result.factory not in names:
            names.append(result.factory)
    where = f"[{backend} T={tables} run {repeat + 1}] {approach.label}:"
    if result.error:
        _log(f"{where} FAILED\n{result.error}")
        return
    overhead = f", {pair['total_ms']:+.2f} ms against the floor side by side" if pair else ""
    _log(f"{where} {stats['median_ms']:.2f} ms/test median over {stats['tests']} tests"
         f"{overhead} ({result.wall:.1f} s)")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _names(allowed: tuple[str, ...]):
    def parse(text: str) -> list[str]:
        names = [part.strip() for part in text.split(",") if part.strip()]
        unknown = [n for n in names if n not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown: {', '.join(unknown)} (choose from {', '.join(allowed)})"
            )
        return names

    return parse


if __name__ == "__main__":
    sys.exit(main())
