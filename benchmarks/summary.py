"""From runs to numbers: per-test medians, overhead above the floor, speed-ups, targets.

The statistic is the median, twice. For the approaches run side by side with
the floor (:mod:`.lockstep`), each run's overhead is the median over tests of
(this approach's test i - the floor's test i), setup + call + teardown; the
cell's overhead is the median of that over the repeated runs. For the
approaches that rebuild the schema (run alone), it is the median over runs of
each run's median per-test time, minus the floor's. Medians are robust to the
first test of a module paying for module and session fixtures, and to the odd
GC pause. Overhead can be negative: without isolation the app's commit is a
real COMMIT that waits for the disk, while under a savepoint it is a RELEASE.
"""

from __future__ import annotations

import statistics
from typing import Any

FLOOR = "none"
BASELINE = "seed001"
PHASES = ("setup_ms", "call_ms", "teardown_ms")


def cell(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median over repeated runs of each run's per-test statistics."""
    ok = [run for run in runs if not run.get("error")]
    if not ok:
        return {"status": "failed", "note": next((r["error"] for r in runs), "no runs")}
    out: dict[str, Any] = {"status": "ok", "runs": len(ok), "tests": ok[0]["tests"]}
    for key in ("median_ms", "mean_ms", *PHASES):
        out[key] = statistics.median(run[key] for run in ok)
    out["spread_ms"] = [min(r["median_ms"] for r in ok), max(r["median_ms"] for r in ok)]
    pairs = [run["paired"] for run in ok if run.get("paired")]
    if pairs:
        out["paired"] = {key: statistics.median(p[key] for p in pairs) for key in pairs[0]}
        out["paired_runs_ms"] = [p["total_ms"] for p in pairs]
    return out


def compare(cells: dict[str, dict[str, Any]], savepoint_us: float | None) -> None:
    """Add overhead, its phases, speed-up against seed 001 and the savepoint multiple, in place."""
    floor = cells.get(FLOOR)
    if not floor or floor.get("status") != "ok":
        return
    for key, data in cells.items():
        if data.get("status") != "ok" or key == FLOOR:
            continue
        if "paired" in data:
            data["overhead_ms"] = data["paired"]["total_ms"]
            data["boundary_ms"] = data["paired"]["boundary_ms"]
            data["call_delta_ms"] = data["paired"]["call_ms"]
        else:
            data["overhead_ms"] = data["median_ms"] - floor["median_ms"]
            data["boundary_ms"] = sum(data[p] - floor[p] for p in ("setup_ms", "teardown_ms"))
            data["call_delta_ms"] = data["call_ms"] - floor["call_ms"]
        if savepoint_us:
            data["savepoint_multiple"] = data["overhead_ms"] * 1e3 / savepoint_us
            data["boundary_savepoint_multiple"] = data["boundary_ms"] * 1e3 / savepoint_us
    baseline = cells.get(BASELINE, {})
    base = baseline.get("overhead_ms")
    for key, data in cells.items():
        overhead = data.get("overhead_ms")
        if base is None or overhead is None or key in (FLOOR, BASELINE):
            continue
        data["speedup"] = base / overhead if overhead > 0 else None


def targets(backends: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets for the plugin, measured (never asserted in tests)."""
    rows: list[dict[str, Any]] = []

    def add(target: str, backend: str, measured: str, met: bool | None) -> None:
        rows.append({"target": target, "backend": backend, "measured": measured, "met": met})

    for name, backend in backends.items():
        cells = backend["cells"]
        sp = (backend.get("savepoint") or {}).get("median_us")
        tx = {t: c.get("transaction", {}) for t, c in cells.items()}
        overheads = {t: c["overhead_ms"] for t, c in tx.items() if "overhead_ms" in c}
        if not overheads:
            continue
        worst = max(overheads.values())
        add("transaction overhead ≤ 0.5 ms", name, _ms_list(overheads), worst <= 0.5)
        if sp:
            add(
                "transaction overhead ≤ 3 x raw SAVEPOINT + ROLLBACK TO",
                name,
                f"{worst * 1e3:.0f} µs vs 3 x {sp:.0f} µs",
                worst * 1e3 <= 3 * sp,
            )
        # The same two targets on the test's edges alone: the whole overhead is
        # lowered by the commit a savepoint saves, which hides what the edges cost.
        edges = {t: c["boundary_ms"] for t, c in tx.items() if "boundary_ms" in c}
        if edges:
            worst_edges = max(edges.values())
            add("transaction edges alone (setup + teardown) ≤ 0.5 ms", name, _ms_list(edges),
                worst_edges <= 0.5)
            if sp:
                add(
                    "transaction edges alone ≤ 3 x raw SAVEPOINT + ROLLBACK TO",
                    name,
                    f"{worst_edges * 1e3:.0f} µs vs 3 x {sp:.1f} µs",
                    worst_edges * 1e3 <= 3 * sp,
                )
        if len(overheads) > 1:
            ts = sorted(overheads)
            growth = overheads[ts[-1]] - overheads[ts[0]]
            # "Does not grow": within the larger of 0.1 ms and one savepoint round trip.
            tolerance = max(0.1, (sp or 0) / 1e3)
            add(
                "transaction overhead does not grow with T",
                name,
                f"{growth:+.2f} ms from T={ts[0]} to T={ts[-1]}",
                growth <= tolerance,
            )
        for t, factor in ((10, 100), (50, 1000)):
            if name == "sqlite" or t not in tx or "overhead_ms" not in tx[t]:
                continue
            base = cells[t].get(BASELINE, {}).get("overhead_ms")
            if base is None:
                continue
            speedup = base / max(tx[t]["overhead_ms"], 1e-9)
            shown = (
                f"{speedup:,.0f}x ({base:,.1f} ms / {tx[t]['overhead_ms']:.2f} ms)"
                if tx[t]["overhead_ms"] > 0
                else "overhead ≤ 0: no measurable cost"
            )
            add(f"transaction ≥ {factor:,}x faster than seed 001 at T={t}", name, shown,
                tx[t]["overhead_ms"] <= 0 or speedup >= factor)
        seed000 = {t: c.get("seed000", {}).get("overhead_ms") for t, c in cells.items()}
        slower = {
            t: overheads[t] - s for t, s in seed000.items() if s is not None and t in overheads
        }
        if slower:
            add(
                "transaction no slower than seed 000 (within 0.05 ms)",
                name,
                "difference " + _ms_list(slower, signed=True),
                max(slower.values()) <= 0.05,
            )
        truncate = {t: c.get("truncate", {}).get("overhead_ms") for t, c in cells.items()}
        truncate = {t: v for t, v in truncate.items() if v is not None}
        if len(truncate) > 1:
            ts = sorted(truncate)
            growth = truncate[ts[-1]] - truncate[ts[0]]
            tolerance = max(0.2, 0.25 * abs(truncate[ts[0]]))
            add(
                "truncate overhead does not grow with T (3 tables written per test)",
                name,
                f"{growth:+.2f} ms from T={ts[0]} to T={ts[-1]}",
                growth <= tolerance,
            )
    return rows


def _ms_list(values: dict[int, float], signed: bool = False) -> str:
    fmt = "{:+.2f}" if signed else "{:.2f}"
    return ", ".join(f"T={t}: {fmt.format(v)} ms" for t, v in sorted(values.items()))
