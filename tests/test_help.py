"""pytest --help names every TESTBED_* variable the plugin reads; --markers, every argument."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

from flask_testbed.plugin import MARKER_ARGUMENTS

SOURCE = ROOT / "src" / "flask_testbed"


def variables_read() -> set[str]:
    """Every TESTBED_* name spelled in the plugin's source."""
    names: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        names.update(re.findall(r"\bTESTBED_[A-Z_]+[A-Z]\b", path.read_text()))
    return names


def test_the_source_reads_the_variables_this_test_expects() -> None:
    assert {"TESTBED_LOCK_TIMEOUT", "TESTBED_RUN_LOCK_TIMEOUT", "TESTBED_APP"} <= variables_read()


def test_help_names_every_variable(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    assert result.ret == 0
    text = " ".join(result.stdout.str().split())
    missing = sorted(name for name in variables_read() if name not in text)
    assert not missing, f"pytest --help does not name {missing}"


def test_markers_show_every_marker_argument(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--markers")
    assert result.ret == 0
    line = next(line for line in result.stdout.lines if line.startswith("@pytest.mark.testbed("))
    for argument in MARKER_ARGUMENTS:
        assert f"{argument}=" in line, line
