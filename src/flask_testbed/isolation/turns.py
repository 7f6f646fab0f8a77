"""Turns on the pinned connections: a live server's request, or the test.

A live server serves requests from a thread of its own while the test goes on
in its thread, and both share the pinned connection. Statement by statement a
lock keeps them apart, but a request spans many statements inside a savepoint
of its own: had the test opened a savepoint in between, the request's RELEASE
would end the test's savepoint with its own (savepoints nest on the server,
threads do not). So while a request is in flight, the test's thread waits
before its next statement, and a request begins only between two of the
test's statements. Other threads (a job a request starts) are not held up:
the request may be waiting for them.

The flag is set under the statement lock every pinned connection shares, so
the test cannot slip a statement in between a request's start and its first
savepoint.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from ..errors import TestbedError

#: held around every statement on any pinned connection (one for all of them,
#: so that a request's turn covers every database of the run at once)
STATEMENTS = threading.RLock()

#: how long the test's thread waits for a request before it gives up (seconds)
WAIT = 30.0


class RequestStillRunning(TestbedError):
    """A live server's request kept the database past the time the test waits."""


class _Turns:
    def __init__(self) -> None:
        self._idle = threading.Condition(threading.Lock())
        #: the request in flight ("GET /notes"), None between requests, and its thread
        self.serving: str | None = None
        self.serving_thread: threading.Thread | None = None
        #: the thread that runs the tests: the one that waits while a request runs
        self.test_thread: int | None = None
        #: a request was still running when its test ended (reported): the next
        #: test waits for it, and its writes are undone before that test begins
        self.late = False

    @contextlib.contextmanager
    def request(self, what: str) -> Iterator[None]:
        """A request's whole run: the test's thread waits for it before its next statement."""
        with self._idle:
            while self.serving is not None:  # another server's request: one at a time
                self._idle.wait()
            with STATEMENTS:
                self.serving = what
                self.serving_thread = threading.current_thread()
        try:
            yield
        finally:
            with self._idle:
                self.serving = None
                self.serving_thread = None
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> str | None:
        """Wait until no request is in flight; what still runs after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self.serving is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return self.serving
                self._idle.wait(left)
        return None


turns = _Turns()


def acquire(lock: threading.RLock) -> None:
    """Take the statement lock; in the test's thread, only between requests.

    Called before every statement on a pinned connection: one attribute read
    while no live server runs a request.
    """
    lock.acquire()
    while turns.serving is not None and threading.get_ident() == turns.test_thread:
        what = turns.serving
        lock.release()
        if turns.wait_idle(WAIT) is not None:
            raise RequestStillRunning(
                f"the live server's request {what} has held the database for {WAIT:.0f} s "
                "while the test waits for it: a view that waits for the test deadlocks; "
                "let the request end on its own"
            )
        lock.acquire()
