"""The example app's suite passes on every backend: what `make demo` shows, checked.

It runs as its own pytest process, as a user runs it (`pytest examples/myapp`
from the repository root), so that its pytest.ini, conftest files and app are
found exactly the way a user's would be. Its browser tests (`e2e/`) need
Chromium: test_example_e2e.py runs them, once per backend.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import junit_counts, run_as_a_user, server_url

MIN_TESTS = 30


@pytest.mark.parametrize("workers", [0, 2], ids=["serial", "xdist-n2"])
@pytest.mark.parametrize("backend", ["sqlite-in-memory", "postgresql", "mariadb"])
def test_example_suite_passes(backend: str, workers: int, tmp_path: Path) -> None:
    # Under xdist's default distribution: the session flow module must stay whole.
    args = ["-n", str(workers)] if workers else []
    if backend != "sqlite-in-memory":
        args.append(f"--testbed-db-url={server_url(backend)}")
    report = tmp_path / "report.xml"
    completed = run_as_a_user(
        "examples/myapp", "--ignore=examples/myapp/e2e", f"--junitxml={report}", *args
    )
    output = completed.stdout[-3000:] + completed.stderr[-2000:]
    assert completed.returncode == 0, output
    counts = junit_counts(report, output)
    assert counts["tests"] >= MIN_TESTS, counts
    assert counts["failures"] == counts["errors"] == counts["skipped"] == 0, counts
