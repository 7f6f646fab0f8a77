"""The example app's suite passes on every backend: what `make demo` shows, checked.

It runs as its own pytest process, as a user runs it (`pytest examples/myapp`
from the repository root), so that its pytest.ini, conftest files and app are
found exactly the way a user's would be. Its browser tests (`e2e/`) need
Chromium: test_example_e2e.py runs them, once per backend.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import server_url

ROOT = Path(__file__).resolve().parents[1]
MIN_TESTS = 30


@pytest.mark.parametrize("workers", [0, 2], ids=["serial", "xdist-n2"])
@pytest.mark.parametrize("backend", ["sqlite-in-memory", "postgresql", "mariadb"])
def test_example_suite_passes(backend: str, workers: int, tmp_path: Path) -> None:
    # Under xdist's default distribution: the session flow module must stay whole.
    args = ["-n", str(workers)] if workers else []
    if backend != "sqlite-in-memory":
        args.append(f"--testbed-db-url={server_url(backend)}")
    report = tmp_path / "report.xml"
    # The example decides its own settings: none may leak in from this run.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TESTBED_") and key != "PYTEST_ADDOPTS"
    }
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "examples/myapp", "-p", "no:cacheprovider",
         "-p", "no:randomly", "--ignore=examples/myapp/e2e", f"--junitxml={report}", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    output = completed.stdout[-3000:] + completed.stderr[-2000:]
    assert completed.returncode == 0, output
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None, output
    counts = {key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")}
    assert counts["tests"] >= MIN_TESTS, counts
    assert counts["failures"] == counts["errors"] == counts["skipped"] == 0, counts
