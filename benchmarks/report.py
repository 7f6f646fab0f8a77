"""Writing the results: ``results.json`` (everything), ``results.md`` (tables), ``overhead.png``."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from .approaches import APPROACHES
from .summary import BASELINE, FLOOR

PACKAGES = ("flask-testbed", "Flask", "Flask-SQLAlchemy", "SQLAlchemy", "psycopg", "PyMySQL",
            "factory_boy", "pytest")
ROOT = Path(__file__).resolve().parents[1]
#: overheads below this are shown as no measurable cost, not as a huge speed-up
RESOLUTION_MS = 0.05


def machine() -> dict[str, Any]:
    """What the numbers were measured on (no host names, no paths)."""
    info: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "memory_gb": _memory_gb(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "packages": {},
        "commit": _git("rev-parse", "--short", "HEAD"),
        "plugin_source_modified": bool(_git("status", "--porcelain", "src")),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    for name in PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            info["packages"][name] = metadata.version(name)
    return info


def write(directory: Path, data: dict[str, Any]) -> list[Path]:
    """Write the three result files into ``directory``; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "results.json", directory / "results.md"]
    written[0].write_text(json.dumps(_jsonable(data), indent=1, ensure_ascii=False) + "\n")
    chart_note = chart(data, directory / "overhead.png")
    if chart_note is None:
        written.append(directory / "overhead.png")
    else:
        data.setdefault("notes", []).append(chart_note)
    written[1].write_text(markdown(data))
    return written


def markdown(data: dict[str, Any]) -> str:
    """Every table of the run, as the README shows the first ones."""
    return "\n".join(
        [
            "# Isolation benchmark: results",
            "",
            headline(data),
            "",
            main_table(data),
            "",
            floor_table(data),
            "",
            session_table(data),
            "",
            "## Targets (measured, not asserted)",
            "",
            targets_table(data),
            "",
            "## Where the overhead is: at the test's edges (setup + teardown) / in its "
            "statements (call), against the floor (ms)",
            "",
            phases_table(data),
            "",
            "## Notes",
            "",
            *(f"- {note}" for note in notes(data)),
            "",
        ]
    )


def headline(data: dict[str, Any]) -> str:
    meta, config = data["meta"], data["config"]
    packages = meta["packages"]
    versions = ", ".join(b["version"] for b in data["backends"].values())
    commit = meta.get("commit") or "unknown"
    if meta.get("plugin_source_modified"):
        commit += " + uncommitted changes"
    slow = ", ".join(f"T={t}: {n}" for t, n in config["slow_tests"].items())
    return (
        f"Measured {meta['date']} on {meta['cores']} cores ({meta['cpu']}, "
        f"{meta['memory_gb']} GB, {meta['system']}); Python {meta['python']}, "
        f"SQLAlchemy {packages.get('SQLAlchemy')}, Flask-SQLAlchemy "
        f"{packages.get('Flask-SQLAlchemy')}; {versions}; flask-testbed at {commit}.\n"
        f"N = {config['tests']} tests per run ({slow} for the approaches that rebuild the "
        f"schema per test), {config.get('requests', 1)} request(s) per test, "
        f"{config['repeats']} run(s) per cell ({config['slow_repeats']} for "
        "those). The other approaches run side by side with the floor, one test each in "
        "turn; their overhead is the median over runs of the median over tests of (test i "
        "- the floor's test i), setup + call + teardown. The schema-rebuilding ones run "
        "alone: the median over runs of their median per-test time, minus the floor's."
    )


def main_table(data: dict[str, Any]) -> str:
    tables = data["config"]["tables"]
    lines = [
        "Per-test overhead above no isolation, in ms (speed-up against seed 001's "
        "drop-and-recreate in parentheses); the floor row is its absolute time per test.",
        "",
        "| backend | approach | " + " | ".join(f"T={t}" for t in tables) + " |",
        "|---|---|" + "---:|" * len(tables),
    ]
    for backend in data["backends"].values():
        first = True
        for key, approach in APPROACHES.items():
            if key in data.get("skipped", {}):
                continue
            cells = [_main_cell(backend["cells"].get(t, {}).get(key), key) for t in tables]
            if all(c == "" for c in cells):
                continue
            label = backend["label"] if first else ""
            first = False
            lines.append(f"| {label} | {approach.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def floor_table(data: dict[str, Any]) -> str:
    tables = data["config"]["tables"]
    lines = [
        "The physical floor: one raw-driver `SAVEPOINT` + `ROLLBACK TO SAVEPOINT` against the "
        "`transaction` strategy's overhead per test (all of it, and the part spent at test "
        "boundaries: setup + teardown), in µs and as a multiple of the round trip.",
        "",
        "| backend | SAVEPOINT + ROLLBACK TO | " + " | ".join(
            f"transaction T={t}" for t in tables
        ) + " | setup + teardown, T=" + str(tables[-1]) + " |",
        "|---|---:|" + "---:|" * (len(tables) + 1),
    ]
    for backend in data["backends"].values():
        sp = (backend.get("savepoint") or {}).get("median_us")
        row = [backend["label"], f"{sp:.1f} µs" if sp else "n/a"]
        for t in tables:
            tx = backend["cells"].get(t, {}).get("transaction", {})
            row.append(_multiple(tx.get("overhead_ms"), tx.get("savepoint_multiple")))
        tx = backend["cells"].get(tables[-1], {}).get("transaction", {})
        row.append(_multiple(tx.get("boundary_ms"), tx.get("boundary_savepoint_multiple")))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def session_table(data: dict[str, Any]) -> str:
    starts = {k: b.get("session_start") for k, b in data["backends"].items()}
    if not any(starts.values()):
        return "Session start: not measured in this run."
    some = next(s for s in starts.values() if s)
    lines = [
        f"Session start with T={some['tables']} (ms, median of {some['repeats']}): the floor's "
        "`create_all`, the plugin's cold start (app load, checks, schema), and warm with "
        "the schema kept by `--reuse-db`.",
        "",
        "| backend | floor: create_all | plugin cold | plugin warm (--reuse-db) | "
        "process wall, cold |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, start in starts.items():
        if not start:
            continue
        warm = start.get("warm_ms")
        lines.append(
            f"| {data['backends'][key]['label']} | {_num(start.get('floor_ms'))} | "
            f"{_num(start.get('cold_ms'))} | "
            f"{_num(warm) if warm is not None else start.get('warm_note', 'n/a')} | "
            f"{start['cold_wall_s']:.2f} s |"
        )
    return "\n".join(lines)


def targets_table(data: dict[str, Any]) -> str:
    rows = data.get("targets") or []
    if not rows:
        return "No plugin results to check."
    lines = ["| target | backend | measured | met |", "|---|---|---|:-:|"]
    for row in rows:
        met = {True: "yes", False: "**no**", None: "?"}[row["met"]]
        label = data["backends"][row["backend"]]["label"]
        lines.append(f"| {row['target']} | {label} | {row['measured']} | {met} |")
    return "\n".join(lines)


def phases_table(data: dict[str, Any]) -> str:
    tables = data["config"]["tables"]
    lines = [
        "| backend | approach | " + " | ".join(f"T={t}" for t in tables) + " |",
        "|---|---|" + "---:|" * len(tables),
    ]
    for backend in data["backends"].values():
        for key, approach in APPROACHES.items():
            if key in (FLOOR, BASELINE) or key in data.get("skipped", {}):
                continue
            cells = []
            for t in tables:
                c = backend["cells"].get(t, {}).get(key, {})
                if "overhead_ms" not in c:
                    cells.append("")
                    continue
                cells.append(f"{_signed(c['boundary_ms'])} / {_signed(c['call_delta_ms'])}")
            lines.append(f"| {backend['label']} | {approach.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def notes(data: dict[str, Any]) -> list[str]:
    out = [
        "Overhead below zero means faster than no isolation: under a savepoint the app's "
        "commit is a RELEASE, while the floor's is a real COMMIT that waits for the disk. "
        f"Below {RESOLUTION_MS} ms it is shown as no measurable cost (no speed-up is computed).",
        "Each test: three inserts through factory_boy (flush), one request that updates a "
        "row and commits, one query. Factories of the plugin's runs: "
        + ", ".join(sorted(data.get("factories", {}).get("plugin", ["n/a"]))) + ".",
    ]
    for key, reason in data.get("skipped", {}).items():
        out.append(f"{APPROACHES[key].label}: skipped ({reason}).")
    for backend in data["backends"].values():
        for t, cells in backend["cells"].items():
            for key, c in cells.items():
                if c.get("status") == "failed":
                    first = str(c.get("note", "")).strip().splitlines()[:1]
                    out.append(f"{backend['label']} T={t} {key}: failed: {' '.join(first)}")
    out.extend(data.get("notes", []))
    return out


def chart(data: dict[str, Any], path: Path) -> str | None:
    """Overhead against T, one line per approach, a panel per backend; None when written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "no chart: matplotlib is not installed (pip install -e . --group bench)"
    backends = list(data["backends"].values())
    tables = data["config"]["tables"]
    fig, axes = plt.subplots(
        1, len(backends), figsize=(max(7.0, 4.6 * len(backends)), 4.8), sharey=True,
        squeeze=False,
    )
    for ax, backend in zip(axes[0], backends, strict=True):
        for key, approach in APPROACHES.items():
            if key == FLOOR:
                continue
            points = [
                (t, backend["cells"].get(t, {}).get(key, {}).get("overhead_ms")) for t in tables
            ]
            points = [(t, v) for t, v in points if v is not None]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, marker="o", label=approach.label)
        sp = (backend.get("savepoint") or {}).get("median_us")
        if sp:
            ax.axhline(sp / 1e3, color="grey", linestyle="--", linewidth=1,
                       label="raw SAVEPOINT + ROLLBACK TO")
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_xscale("log")
        ax.set_xticks(tables, [str(t) for t in tables])
        ax.minorticks_off()
        ax.set_yscale("symlog", linthresh=0.1)
        title = backend["version"] + (" (file)" if "SQLite" in backend["version"] else "")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("tables in the schema (T)")
        ax.grid(True, which="major", alpha=0.3)
    axes[0][0].set_ylabel("overhead per test above no isolation (ms, symlog)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(f"flask-testbed isolation benchmark, {data['meta']['date']}", fontsize=11)
    fig.tight_layout(rect=(0, 0.1, 1, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def _main_cell(c: dict[str, Any] | None, key: str) -> str:
    if not c:
        return ""
    if c.get("status") != "ok":
        return c.get("status", "")
    if key == FLOOR:
        return f"{_num(c['median_ms'])} per test"
    text = _signed(c["overhead_ms"]) if c["overhead_ms"] < 0 else _num(c["overhead_ms"])
    if key == BASELINE:
        return text
    speedup = c.get("speedup")
    if c["overhead_ms"] < RESOLUTION_MS:
        return f"{text} (no measurable cost)"
    if speedup is not None:
        return f"{text} ({_times(speedup)})"
    return text


def _multiple(ms: float | None, multiple: float | None) -> str:
    if ms is None:
        return ""
    text = f"{ms * 1e3:+.0f} µs"
    return f"{text} ({multiple:.1f}x)" if multiple is not None else text


def _num(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _signed(value: float) -> str:
    text = _num(abs(value))
    return f"-{text}" if value < 0 else f"+{text}"


def _times(value: float) -> str:
    return f"{value:,.0f}x" if value >= 10 else f"{value:.1f}x"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return round(value, 4)
    return value


def _proc_field(path: str, field: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _memory_gb() -> float | None:
    total = _proc_field("/proc/meminfo", "MemTotal")
    return round(int(total.split()[0]) / 1024**2, 1) if total else None


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()
