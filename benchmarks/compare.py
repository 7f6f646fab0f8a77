"""Two or more revisions of the plugin on the same suite, each run freely, in turns.

    python -m benchmarks.compare HEAD~1 HEAD --backend postgresql --tables 10

The isolation benchmark runs its approaches in lockstep, each test waiting for
its turn, which compares approaches under the same machine conditions but
hides whatever overlaps with the next test (the server finishing a rollback
while pytest moves on). Here each revision runs the whole suite as a user's
run does; the revisions take turns round after round, so that a slow minute
of the machine lands on all of them. The table gives each revision's median
per-test time at the test's edges (setup + teardown) and in all, per round,
and its ratio to the first revision's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from .approaches import APPROACHES
from .backends import BACKENDS, DEFAULT_URLS, BenchDatabase
from .runner import RunResult, prepare, run_suite, use_plugin_revision


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("revisions", nargs="+", metavar="REV",
                        help="git revisions of the plugin; the first is the baseline")
    parser.add_argument("--backend", choices=BACKENDS, default="postgresql")
    parser.add_argument("--strategy", choices=("transaction", "truncate"),
                        default="transaction")
    parser.add_argument("--tables", type=int, default=10)
    parser.add_argument("--tests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--url", default=None, help="a database on the server (default: env)")
    args = parser.parse_args(argv)
    approach = APPROACHES[args.strategy]
    with tempfile.TemporaryDirectory(prefix="testbed-compare-") as tmp:
        workdir = Path(tmp)
        bench = BenchDatabase(args.backend, workdir / "db",
                              args.url or DEFAULT_URLS.get(args.backend))
        project = prepare(workdir / "project", approach, args.tables, args.tests)
        commits = [use_plugin_revision(rev, workdir / f"plugin{i}")
                   for i, rev in enumerate(args.revisions)]
        runs: list[list[RunResult]] = [[] for _ in args.revisions]
        try:
            for _round in range(args.rounds):
                for index, rev in enumerate(args.revisions):
                    use_plugin_revision(rev, workdir / f"plugin{index}")
                    result = run_suite(project, approach, bench.fresh())
                    if not result.ok:
                        raise SystemExit(f"the run of {rev} failed:\n{result.error}")
                    runs[index].append(result)
            print(f"# {args.strategy} on {bench.version()}, T={args.tables}, N={args.tests}, "
                  f"{args.rounds} rounds, each revision run freely in turn\n")
            labels = [f"{rev} ({commit})" for rev, commit in zip(args.revisions, commits,
                                                                 strict=True)]
            print(table(labels, runs))
        finally:
            bench.drop()
    return 0


def table(labels: list[str], runs: list[list[RunResult]]) -> str:
    """Per-test medians in ms, per round, and the median of rounds against the baseline."""
    lines = [
        "| revision | edges (setup + teardown), per round | edges | whole test, per round "
        "| whole test | whole test vs baseline |",
        "|---|---|---:|---|---:|---:|",
    ]
    baseline = None
    for label, results in zip(labels, runs, strict=True):
        edges = [_median_ms(_edges(run)) for run in results]
        whole = [_median_ms(run.totals) for run in results]
        middle = statistics.median(whole)
        baseline = baseline or middle
        lines.append(
            f"| {label} | {' / '.join(f'{e:.3f}' for e in edges)} "
            f"| {statistics.median(edges):.3f} | {' / '.join(f'{w:.2f}' for w in whole)} "
            f"| {middle:.2f} | {middle / baseline:.3f}x |"
        )
    return "\n".join(lines)


def _edges(run: RunResult) -> list[float]:
    return [setup + teardown for setup, teardown in zip(run.setups, run.teardowns, strict=True)]


def _median_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1e3


if __name__ == "__main__":
    sys.exit(main())
