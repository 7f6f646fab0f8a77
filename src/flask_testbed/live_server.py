"""The app over real HTTP, from a thread of the test process, inside the test's sandbox.

pytest-flask's live server forks a process: the child inherits the pinned
connection's socket (a hang on PostgreSQL, crossed replies on MariaDB) and
writes that no rollback reaches. Here the server is a thread of the test
process, so its requests reach the database the way the test client's do:
each in an app context and a session of its own, joined to the sandbox the
current test runs in, whatever the server's own scope. What the test's
fixtures wrote is served; what a request commits is seen by the test and
gone with it.

Connections are served each by a thread; requests one at a time, each taking a turn on the pinned
connections (:mod:`.isolation.turns`): the test's thread waits while one is
in flight, so their savepoints never interleave. At the test's end a request
still running is waited for (``TESTBED_LIVE_SERVER_WAIT`` seconds, default 10)
and reported, with its method and path.

The fixture is registered after every other plugin, so that with pytest-flask
installed too, ``live_server`` is this one (its interface is pytest-flask's:
``url()``, ``port``, ``host``, ``app``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, ThreadedWSGIServer, WSGIRequestHandler

from .errors import TestbedError
from .guards import threads
from .isolation.turns import WAIT, turns

SCOPES = ("session", "package", "module", "class", "function")
WAIT_ENV = "TESTBED_LIVE_SERVER_WAIT"


class LiveServer:
    """The app served on a free loopback port by a thread of the test process."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Listen and serve (the port is bound before this returns: no waiting for it)."""
        if self._server is not None:
            return
        server = _Server(self.host, self.port, _TakingTurns(self.app), handler=_QuietHandler)
        self.port = server.server_port
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1},
            name=f"testbed live server :{self.port}", daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join()

    def url(self, path: str = "") -> str:
        """``http://127.0.0.1:<port><path>``."""
        return f"http://{self.host}:{self.port}{path}"

    def __repr__(self) -> str:
        return f"<LiveServer listening at {self.url()}>"


class _TakingTurns:
    """WSGI middleware: the whole request, body included, in one turn on the database."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        what = f"{environ.get('REQUEST_METHOD', 'GET')} {environ.get('PATH_INFO', '/')}"
        try:
            with turns.request(what):
                body = self.app(environ, start_response)
                try:
                    # Read here, so that a streamed body's queries run inside the turn too.
                    return [bytes(chunk) for chunk in body]
                finally:
                    close = getattr(body, "close", None)
                    if close is not None:
                        close()
        finally:
            # A request refused for outliving its test: the next one is another test's.
            threads.outliving.pop(threading.current_thread(), None)


class _Server(ThreadedWSGIServer):
    """A thread per connection; the requests themselves still take turns.

    One thread for all would sit on a connection a browser opened ahead of
    time and never used (Chromium does), for a minute, while the real request
    waits behind it. The connection threads serve whichever test is running:
    the thread guard lets them outlive the test during which they started.
    """

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), daemon=True
        )
        setattr(thread, threads.SERVES_EVERY_TEST, True)
        thread.start()


class _QuietHandler(WSGIRequestHandler):
    """No access log on the test run's output; an idle connection is closed after a while."""

    timeout = 30

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class RequestOutlivedTest(TestbedError):
    """A live server's request was still running when its test ended."""


def wait_for_requests(test: str) -> None:
    """At a test's end: wait for a request in flight, and report one that does not end."""
    if turns.serving is None:
        return
    seconds = wait_seconds()
    server_thread = turns.serving_thread
    still = turns.wait_idle(seconds)
    if still is not None:
        turns.late = True
        if server_thread is not None:
            # Its next statement would land in whatever scope comes next: refused.
            threads.outliving[server_thread] = test
        raise RequestOutlivedTest(
            f"the live server's request {still} was still running when {test} ended "
            f"(waited {seconds:g} s, {WAIT_ENV}): wait for the page or request to finish "
            "before the test ends"
        )


def wait_for_late_request() -> bool:
    """Before a test: let a request that outlived the previous test end; whether there was one."""
    if not turns.late:
        return False
    turns.late = False
    # Longer than at the test's end: it was reported then; now the next test's
    # data is at stake, and the test's own statements would wait as long.
    turns.wait_idle(max(wait_seconds(), WAIT))
    return True


def wait_seconds() -> float:
    text = os.environ.get(WAIT_ENV, "10")
    try:
        seconds = float(text)
    except ValueError:
        raise TestbedError(f"{WAIT_ENV}={text!r} is not a number of seconds") from None
    if seconds < 0:
        raise TestbedError(f"{WAIT_ENV}={text!r} is not a number of seconds")
    return seconds


def _scope(fixture_name: str, config: pytest.Config) -> str:
    scope = (config.getini("live_server_scope") or "session").strip()
    if scope not in SCOPES:
        raise pytest.UsageError(
            f"live_server_scope = {scope!r} in the pytest ini: use one of {', '.join(SCOPES)}"
        )
    return scope


@pytest.fixture(scope=_scope)
def live_server(app: Flask, _testbed: Any) -> Iterator[LiveServer]:
    """The app served over HTTP by a thread; each request inside the current test's sandbox.

    Scope: ``live_server_scope`` in the ini (default session): the server
    starts once; every test's data is its own whatever the scope.
    """
    port = int(app.config.get("LIVESERVER_PORT") or 0)  # pytest-flask's setting
    server = LiveServer(app, port=port)
    server.start()
    try:
        yield server
    finally:
        server.stop()
