"""The example's browser tests pass on every backend, and a failing one leaves its page behind.

Like test_example_app.py, each run is a pytest process of its own, started
from the repository root as a user starts it. They need Debian's Chromium and
its driver and Selenium (``make test`` installs them): without them these
tests skip with one line, and fail under CI=true.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, junit_counts, run_as_a_user, server_url

EXAMPLE = ROOT / "examples" / "myapp"
MIN_TESTS = 5

FAILING_TEST = '''
from myapp.auth.tests.factories import PASSWORD


def test_deliberately_failing(browser, live_server):
    browser.get(live_server.url("/sign-in"))
    assert browser.title == "not the sign-in page", PASSWORD
'''


@pytest.fixture
def chromium() -> None:
    """Skip (fail under CI=true) with one line when the browser tests cannot run here."""
    missing = [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]
    if importlib.util.find_spec("selenium") is None:
        missing.append("selenium")
    if missing:
        message = (
            f"{', '.join(missing)} not found: apt-get install chromium chromium-driver, "
            "pip install selenium"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.mark.parametrize("backend", ["sqlite-in-memory", "postgresql", "mariadb"])
def test_example_browser_tests_pass(chromium: None, backend: str, tmp_path: Path) -> None:
    args = [] if backend == "sqlite-in-memory" else [f"--testbed-db-url={server_url(backend)}"]
    report = tmp_path / "report.xml"

    completed = run_as_a_user("examples/myapp/e2e", f"--junitxml={report}", *args)

    output = completed.stdout[-3000:] + completed.stderr[-2000:]
    assert completed.returncode == 0, output
    counts = junit_counts(report, output)
    assert counts["tests"] >= MIN_TESTS, counts
    assert counts["failures"] == counts["errors"] == counts["skipped"] == 0, counts


@pytest.fixture
def example_copy(tmp_path: Path) -> Path:
    """The example app in a folder of its own, with a browser test that fails."""
    copy = tmp_path / "myapp"
    shutil.copytree(
        EXAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__", "instance", "e2e-artifacts")
    )
    (copy / "e2e" / "test_deliberately_failing.py").write_text(FAILING_TEST)
    return copy


@pytest.mark.parametrize("junitxml", [True, False], ids=["beside-junitxml", "under-rootdir"])
def test_a_failing_browser_test_saves_its_page(
    chromium: None, example_copy: Path, tmp_path: Path, junitxml: bool
) -> None:
    reports = tmp_path / "reports"
    args = [f"--junitxml={reports / 'report.xml'}"] if junitxml else []
    expected = (reports if junitxml else example_copy) / "e2e-artifacts"

    completed = run_as_a_user("e2e/test_deliberately_failing.py", *args, cwd=example_copy)

    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    stem = "e2e_test_deliberately_failing.py_test_deliberately_failing"
    screenshot, html = expected / f"{stem}.png", expected / f"{stem}.html"
    assert screenshot.read_bytes().startswith(b"\x89PNG"), output
    assert '<form id="sign-in"' in html.read_text(), output
    assert "e2e artifacts" in output
    assert f"screenshot: {screenshot}" in output
    assert f"html: {html}" in output
