"""What a run pays once, before its first test: the session start with a large schema.

Timed from inside the run like the tests: the plugin's ``pytest_sessionstart``
(import and check the app, reach every database) plus the first test's setup
(where the schema is created). The floor's first setup, a bare ``drop_all`` +
``create_all``, is what any suite pays for the same schema. ``--reuse-db``,
once the plugin has it, keeps the schema between runs: warm is the second of
two runs that pass it.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .approaches import APPROACHES
from .backends import BenchDatabase
from .runner import RunResult, prepare, run_suite


def session_start(
    bench: BenchDatabase,
    directory: Path,
    tables: int,
    repeats: int,
    reuse_option: str | None,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Median milliseconds of the floor's and the plugin's session start, cold and warm."""
    floor, plugin = APPROACHES["none"], APPROACHES["transaction"]
    floor_dir = prepare(directory / "floor", floor, tables, 1)
    plugin_dir = prepare(directory / "plugin", plugin, tables, 1)
    floors: list[float] = []
    colds: list[float] = []
    walls: list[float] = []
    warms: list[float] = []
    for _ in range(repeats):
        result = _checked(run_suite(floor_dir, floor, bench.fresh()), "floor")
        floors.append(result.setups[0] * 1e3)
        result = _checked(run_suite(plugin_dir, plugin, bench.fresh()), "plugin cold")
        colds.append(_start_ms(result))
        walls.append(result.wall)
        if reuse_option:
            url = bench.fresh()
            _checked(run_suite(plugin_dir, plugin, url, (reuse_option,)), "reuse-db priming")
            result = _checked(run_suite(plugin_dir, plugin, url, (reuse_option,)), "reuse-db")
            warms.append(_start_ms(result))
    out: dict[str, Any] = {
        "tables": tables,
        "repeats": repeats,
        "floor_ms": statistics.median(floors),
        "cold_ms": statistics.median(colds),
        "cold_wall_s": statistics.median(walls),
    }
    if warms:
        out["warm_ms"] = statistics.median(warms)
    else:
        out["warm_note"] = "no --reuse-db yet"
    log(
        f"[{bench.backend} T={tables}] session start: floor create_all {out['floor_ms']:.0f} ms, "
        f"plugin cold {out['cold_ms']:.0f} ms, warm "
        + (f"{out['warm_ms']:.0f} ms" if warms else out["warm_note"])
    )
    return out


def _start_ms(result: RunResult) -> float:
    return ((result.sessionstart or 0.0) + result.setups[0]) * 1e3


def _checked(result: RunResult, what: str) -> RunResult:
    if not result.ok or not result.setups:
        raise RuntimeError(f"session start ({what}) failed: {result.error}")
    return result
