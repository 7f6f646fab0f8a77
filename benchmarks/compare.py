"""Two or more revisions of the plugin on the same suite, each run freely, in turns.

    python -m benchmarks.compare HEAD~1 HEAD --backend postgresql --tables 10
    python -m benchmarks.compare none HEAD --backend mariadb   # against no isolation
    python -m benchmarks.compare 0d4e29e HEAD --requests 5     # five requests per test
    python -m benchmarks.compare production HEAD --requests 11 # against requests as in production
    python -m benchmarks.compare production-lite HEAD --app lite  # the app on Flask-SQLAlchemy-Lite

The isolation benchmark runs its approaches in lockstep, each test waiting for
its turn, which compares approaches under the same machine conditions but
hides whatever overlaps with the next test (the server finishing a rollback
while pytest moves on). Here each revision runs the whole suite as a user's
run does; the revisions take turns round after round, so that a slow minute
of the machine lands on all of them. The table gives each revision's median
per-test time at the test's edges (setup + teardown) and in all, per round,
and both against the first one's. ``none`` stands for no isolation at all (the
isolation benchmark's floor) in place of a revision; its requests share the
test's app context and session. ``production`` is that floor with each request
in an app context (so a session) of its own, as behind a server: the price of
requests as in production without any isolation; ``production-lite`` is the
same for the app on Flask-SQLAlchemy-Lite, which ``--app lite`` makes the
revisions run too. ``--lockstep`` runs the
revisions side by side instead, one test each in turn (as the isolation
benchmark does), and adds the median of (test i - the first revision's test i):
on a shared machine whose speed swings from run to run, the only difference
that stays put. ``--requests R`` makes each
test make R requests instead of one (see :mod:`.synth`): a revision's extra cost
per request is (its difference at R - its difference at 1) / (R - 1).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from . import runner
from .approaches import APPROACHES, FLOOR, PRODUCTION, PRODUCTION_LITE
from .backends import BACKENDS, DEFAULT_URLS, BenchDatabase
from .lockstep import run_lockstep
from .runner import RunResult, prepare, run_suite, use_plugin_path, use_plugin_revision
from .synth import add_loads_option


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("revisions", nargs="+", metavar="REV",
                        help="git revisions of the plugin; the first is the baseline")
    parser.add_argument("--backend", choices=BACKENDS, default="postgresql")
    parser.add_argument("--strategy", choices=("transaction", "truncate"),
                        default="transaction")
    parser.add_argument("--app", choices=("flask_sqlalchemy", "lite"), default="flask_sqlalchemy",
                        help="the extension the app is built on (lite: transaction strategy only)")
    parser.add_argument("--tables", type=int, default=10)
    parser.add_argument("--tests", type=int, default=300)
    parser.add_argument("--requests", type=_positive, default=1,
                        help="requests per test, POST and GET in turn (default 1)")
    add_loads_option(parser)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lockstep", action="store_true",
                        help="run the revisions side by side, one test each in turn, and give "
                        "each one's paired per-test difference to the first")
    parser.add_argument("--url", default=None, help="a database on the server (default: env)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="testbed-compare-") as tmp:
        workdir = Path(tmp)
        bench = BenchDatabase(args.backend, workdir / "db",
                              args.url or DEFAULT_URLS.get(args.backend))
        floors = {"none": FLOOR, "production": PRODUCTION, "production-lite": PRODUCTION_LITE}
        plugin = APPROACHES["lite" if args.app == "lite" else args.strategy]
        approaches = [floors.get(rev) or plugin for rev in args.revisions]
        # One project per revision: side by side, each writes its timings in its own.
        projects = [prepare(workdir / f"run{index}", approach, args.tables, args.tests,
                            args.requests, args.loads)
                    for index, approach in enumerate(approaches)]
        # Each revision is exported once; the runs then only switch between them.
        labels: list[str] = []
        plugins: list[Path | None] = []
        for index, rev in enumerate(args.revisions):
            if rev in floors:
                labels.append(rev)
                plugins.append(None)
                continue
            commit = use_plugin_revision(rev, workdir / f"plugin{index}")
            labels.append(f"{rev} ({commit})")
            plugins.append(runner.PLUGIN_PATH)
        runs: list[list[RunResult]] = [[] for _ in args.revisions]
        try:
            for _round in range(args.rounds):
                if args.lockstep:
                    results = run_lockstep(
                        [(projects[index], approach, bench.fresh(f"run{index}"))
                         for index, approach in enumerate(approaches)],
                        plugins=plugins,
                    )
                else:
                    results = []
                    for index, approach in enumerate(approaches):
                        use_plugin_path(plugins[index])
                        results.append(run_suite(projects[index], approach, bench.fresh()))
                for rev, result, into in zip(args.revisions, results, runs, strict=True):
                    if not result.ok:
                        raise SystemExit(f"the run of {rev} failed:\n{result.error}")
                    into.append(result)
            how = "side by side, one test each in turn" if args.lockstep else "each run freely"
            print(f"# {args.strategy} on {bench.version()}, T={args.tables}, N={args.tests}, "
                  f"{args.requests} request(s) per test (views: {args.loads}), "
                  f"{args.rounds} rounds, {how}\n")
            print(table(labels, runs, args.lockstep))
        finally:
            bench.drop()
    return 0


def table(labels: list[str], runs: list[list[RunResult]], paired: bool = False) -> str:
    """Per-test medians in ms, per round, and the medians of rounds against the first row.

    ``paired`` (runs side by side) adds, per round, the median over tests of
    (test i - the first revision's test i in the same round), and their median.
    """
    header = ("| revision | edges (setup + teardown), per round | edges | edges vs first "
              "| whole test, per round | whole test | whole test vs first |")
    rule = "|---|---|---:|---:|---|---:|---:|"
    if paired:
        header += " paired vs first, per round | paired vs first |"
        rule += "---|---:|"
    lines = [header, rule]
    first: tuple[float, float] | None = None
    for label, results in zip(labels, runs, strict=True):
        edges = [_median_ms(_edges(run)) for run in results]
        whole = [_median_ms(run.totals) for run in results]
        middle = (statistics.median(edges), statistics.median(whole))
        first = first or middle
        line = (
            f"| {label} | {' / '.join(f'{e:.3f}' for e in edges)} | {middle[0]:.3f} "
            f"| {middle[0] - first[0]:+.3f} | {' / '.join(f'{w:.2f}' for w in whole)} "
            f"| {middle[1]:.2f} | {middle[1] - first[1]:+.2f} ({middle[1] / first[1]:.3f}x) |"
        )
        if paired:
            diffs = [runner.paired(run, base)["total_ms"]
                     for run, base in zip(results, runs[0], strict=True)]
            line += (f" {' / '.join(f'{d:+.2f}' for d in diffs)} "
                     f"| {statistics.median(diffs):+.2f} |")
        lines.append(line)
    return "\n".join(lines)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be 1 or more")
    return value


def _edges(run: RunResult) -> list[float]:
    return [setup + teardown for setup, teardown in zip(run.setups, run.teardowns, strict=True)]


def _median_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1e3


if __name__ == "__main__":
    sys.exit(main())
