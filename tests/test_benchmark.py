"""The benchmark stays runnable: tiny runs on SQLite, with no assertion on timings.

Run as users run it (``python -m benchmarks.isolation`` from the project root),
so a broken import, generated app or conftest fails here rather than in the
twenty-minute run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_benchmark(output: Path, *args: str) -> dict[str, Any]:
    process = subprocess.run(
        [sys.executable, "-m", "benchmarks.isolation", "--backends", "sqlite", "--tables", "5",
         "--repeats", "1", "--no-session-start", "--output", str(output), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert process.returncode == 0, process.stdout + process.stderr
    return json.loads((output / "results.json").read_text())


def test_one_approach_against_the_floor(tmp_path: Path) -> None:
    data = run_benchmark(tmp_path, "--tests", "3", "--approaches", "transaction")
    cells = data["backends"]["sqlite"]["cells"]["5"]
    assert cells["none"]["status"] == "ok"
    assert cells["transaction"]["status"] == "ok"
    assert cells["transaction"]["tests"] == 3
    assert "overhead_ms" in cells["transaction"]
    assert data["backends"]["sqlite"]["savepoint"]["median_us"] > 0
    assert "| testbed transaction |" in (tmp_path / "results.md").read_text()


def test_every_approach_isolates_the_suite(tmp_path: Path) -> None:
    # Two tests on one chain: the second asserts it starts from an empty table,
    # so an approach that leaks fails its run.
    data = run_benchmark(tmp_path, "--tests", "2", "--slow-budget", "10")
    cells = data["backends"]["sqlite"]["cells"]["5"]
    failed = {key: c.get("note") for key, c in cells.items() if c["status"] != "ok"}
    assert failed == {}
    assert set(cells) | set(data["skipped"]) >= {"none", "seed001", "seed000", "transaction"}


@pytest.mark.skipif(
    not (ROOT / ".git").exists(),
    reason="compares git revisions: needs a git checkout of the project, not an sdist",
)
def test_revisions_are_compared_in_turns() -> None:
    process = subprocess.run(
        [sys.executable, "-m", "benchmarks.compare", "none", "HEAD", "HEAD", "--backend",
         "sqlite", "--tables", "5", "--tests", "3", "--rounds", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert process.returncode == 0, process.stdout + process.stderr
    rows = [line for line in process.stdout.splitlines() if line.startswith(("| none", "| HEAD"))]
    assert len(rows) == 3, process.stdout
    # The first row (no isolation) is the baseline; the plugin's rows follow it.
    assert rows[0].startswith("| none |") and rows[0].endswith("| +0.00 (1.000x) |")
    assert all(row.startswith("| HEAD (") for row in rows[1:])
