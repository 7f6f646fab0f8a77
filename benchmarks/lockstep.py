"""Running several approaches' suites side by side, one test at a time in turn.

Measured on the machine this benchmark was written on (a 2-core virtual
machine), the speed of the same code drifts by 30 % from one second to the
next. Runs of 300 tests one after the other then differ by a millisecond per
test, more than the overhead being measured. So the cheap approaches run in
lockstep: one subprocess each, all alive at once, and a conductor lets test i
of each run in turn (the order rotating every round) while the others wait on
a pipe, idle. Test i of each approach does the same work, so the per-test
difference to the floor's test i is measured under the same conditions.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .approaches import Approach
from .runner import RunResult, command, environment, read_timings, tail, use_plugin_path


@dataclass
class _Player:
    approach: Approach
    directory: Path
    process: subprocess.Popen
    go: int
    done: int
    output: IO[str]
    started: float
    timed_out: bool = False


def run_lockstep(
    entries: list[tuple[Path, Approach, str]],
    step_timeout: float = 900.0,
    plugins: list[Path | None] | None = None,
) -> list[RunResult]:
    """Run each (project directory, approach, database URL) in lockstep; results in order.

    ``plugins``, one per entry, runs each with the plugin exported there by
    :func:`.runner.use_plugin_revision` (None: the installed one), so that two
    revisions of the plugin can run side by side; without it, all run the same.
    """
    players = []
    for index, (directory, approach, url) in enumerate(entries):
        if plugins is not None:
            use_plugin_path(plugins[index])
        players.append(_start(directory, approach, url))
    live = list(players)
    turn = 0
    try:
        while live:
            shift = turn % len(live)
            for player in live[shift:] + live[:shift]:
                if not _step(player, step_timeout):
                    live.remove(player)
            turn += 1
    finally:
        for player in players:
            _stop(player)
    return [_result(player) for player in players]


def _start(directory: Path, approach: Approach, url: str) -> _Player:
    go_read, go_write = os.pipe()
    done_read, done_write = os.pipe()
    timings = directory / "timings.json"
    timings.unlink(missing_ok=True)
    env = environment(directory, approach, url)
    env.update(
        BENCH_TIMINGS=str(timings),
        BENCH_LOCKSTEP_GO=str(go_read),
        BENCH_LOCKSTEP_DONE=str(done_write),
    )
    output = open(directory / "output.txt", "w")  # noqa: SIM115 - closed in _stop
    process = subprocess.Popen(
        command(approach, url), cwd=directory, env=env, stdout=output,
        stderr=subprocess.STDOUT, pass_fds=(go_read, done_write),
    )
    os.close(go_read)
    os.close(done_write)
    return _Player(approach, directory, process, go_write, done_read, output, time.perf_counter())


def _step(player: _Player, timeout: float) -> bool:
    """Let one test of ``player`` run; False once its run is over (or stuck)."""
    try:
        os.write(player.go, b"g")
    except BrokenPipeError:
        return False
    ready, _, _ = select.select([player.done], [], [], timeout)
    if not ready:
        player.timed_out = True
        player.process.kill()
        return False
    return os.read(player.done, 1) != b""


def _stop(player: _Player) -> None:
    for fd in (player.go, player.done):
        with contextlib.suppress(OSError):
            os.close(fd)
    try:
        player.process.wait(timeout=600)
    except subprocess.TimeoutExpired:
        player.process.kill()
        player.process.wait()
    player.output.close()


def _result(player: _Player) -> RunResult:
    wall = time.perf_counter() - player.started
    result = read_timings(player.directory / "timings.json", player.approach, wall)
    if player.timed_out:
        result.error = "a test took longer than the step timeout; killed"
    elif player.process.returncode != 0:
        output = tail((player.directory / "output.txt").read_text())
        result.error = f"{result.error}\n{output}" if result.error else output
    return result
