"""Threads that outlive the test that started them.

A request (or the test itself) may start a thread that writes a moment later.
Under ``transaction`` every thread shares the pinned connection, so a thread
still running after its test ended would write into whatever scope is open
then: the next test's savepoint, a module's (every test there sees the row),
or, while a session fixture is set up, the run's outer transaction for good.

So each database test notes the threads alive when it begins; those alive at
its end that were not are marked with the test's name, and any statement they
send to a pinned connection later is refused (:func:`refuse_late_thread`).
Since the refusal is raised in the thread, where it may go unseen, it is also
kept for the run: the next database test to end (the one running at that
moment, or the next one) errors at its teardown with the same line, and if no
test is left, the run ends with it.

Threads started before the test (a live server from a session or module
fixture) are never marked: they keep working across tests. Waiting for the
threads instead was ruled out: a pool's idle worker never ends, so each test
would wait out the bound.

Cost: two ``threading.enumerate()`` per database test (about a microsecond
each), and one dictionary's truth test per statement while no thread is marked.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ..errors import TestbedError


class ThreadOutlivedTest(TestbedError):
    """A thread started during a test ran a statement after the test ended."""


#: threads alive at the end of the test that started them, with that test's node id
#: (read by guards/callers.py before every statement: empty almost always)
outliving: dict[threading.Thread, str] = {}
#: set on a thread that serves whichever test runs (a live server's connection
#: threads): it may outlive the test during which it started
SERVES_EVERY_TEST = "testbed_serves_every_test"
#: refusals not reported yet: each is raised at the next database test's end
_refused: list[str] = []


def threads_now() -> Sequence[threading.Thread]:
    """The threads alive when a test begins: what :func:`mark_outliving` compares with."""
    return threading.enumerate()


def mark_outliving(before: Sequence[threading.Thread], test: str) -> None:
    """At a test's end: mark the threads it started that still run, forget ended ones."""
    if outliving:
        for thread in [t for t in outliving if not t.is_alive()]:
            del outliving[thread]
    now = threading.enumerate()
    if now == before:  # the usual case, compared in C: no thread came or went
        return
    for thread in now:
        if thread not in before and not getattr(thread, SERVES_EVERY_TEST, False):
            outliving[thread] = test


def refuse_late_thread() -> None:
    """Before a statement on a pinned connection: refuse it from a marked thread."""
    if outliving:
        test = outliving.get(threading.current_thread())
        if test is not None:
            message = (
                f"a thread started by {test} ran a statement after that test ended: "
                "under the transaction strategy it would write into whatever test or "
                "fixture runs now; join it before the test ends (or start it from a "
                "session- or module-scoped fixture, whose threads may run across tests)"
            )
            _refused.append(message)
            raise ThreadOutlivedTest(message)


def report_refused() -> None:
    """Raise the first refusal not reported yet: a thread's error must not go unseen."""
    if _refused:
        # One line: a refused thread usually tries again as it rolls back.
        message = _refused[0]
        _refused.clear()
        raise ThreadOutlivedTest(message)


def forget() -> None:
    """A run begins or ends: nothing it did not see is its to report."""
    outliving.clear()
    _refused.clear()
