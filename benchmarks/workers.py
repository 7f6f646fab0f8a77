"""What each pytest-xdist worker pays for its database: building the schema, or cloning it.

    python -m benchmarks.workers                      # T=200, every backend
    python -m benchmarks.workers --tables 50 --backends postgresql mariadb

Times the two ways a worker can get its schema, with the plugin's own code:
``create_schema`` in an empty database (what every worker paid before the
controller built a template), and ``clone_database`` from a built template
(what a worker pays now). Median of ``--repeats``; writes
``benchmarks/results/workers.md``.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from flask_testbed.database.schema import create_schema
from flask_testbed.database.servers import clone_database

from .backends import BACKENDS, DEFAULT_URLS, BenchDatabase
from .synth import app_source

RESULTS = Path(__file__).with_name("results") / "workers.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workers", description=__doc__)
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--tables", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="testbed-workers-") as scratch:
        directory = Path(scratch)
        (directory / "workers_app.py").write_text(app_source(args.tables))
        sys.path.insert(0, str(directory))
        module = importlib.import_module("workers_app")
        rows = []
        for backend in args.backends:
            bench = BenchDatabase(backend, directory / backend, DEFAULT_URLS.get(backend))
            try:
                rows.append((bench.label, *_measure(bench, module.db, args.repeats)))
            finally:
                bench.drop()
    lines = [
        f"Worker database with T={args.tables} tables, median of {args.repeats} "
        f"(ms; {time.strftime('%Y-%m-%d')})",
        "",
        "| backend | build the schema (create_all) | clone the template | speed-up |",
        "|---|---:|---:|---:|",
    ]
    for label, build, clone in rows:
        lines.append(f"| {label} | {build:,.0f} | {clone:,.0f} | {build / clone:.1f}x |")
    table = "\n".join(lines)
    print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(table + "\n")
    return 0


def _measure(bench: BenchDatabase, db, repeats: int) -> tuple[float, float]:
    template = sa.make_url(bench.fresh("template"))
    _build(db, template)
    builds, clones = [], []
    for _ in range(repeats):
        worker = sa.make_url(bench.fresh("worker"))
        builds.append(_build(db, worker))
        start = time.perf_counter()
        clone_database(template, worker)
        clones.append((time.perf_counter() - start) * 1e3)
    return statistics.median(builds), statistics.median(clones)


def _build(db, url: sa.URL) -> float:
    """Milliseconds of the plugin's schema creation in an empty database at ``url``."""
    app = Flask("workers_app")
    app.config["SQLALCHEMY_DATABASE_URI"] = url.render_as_string(hide_password=False)
    db.init_app(app)
    with app.app_context():
        start = time.perf_counter()
        create_schema(db)
        elapsed = (time.perf_counter() - start) * 1e3
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    return elapsed


if __name__ == "__main__":
    raise SystemExit(main())
