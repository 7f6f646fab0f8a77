"""After each database test: empty the in-memory state that would outlive it.

The database is rolled back by the isolation; what an app keeps in the process
itself (rate-limit counters, a cache, a mail outbox) is not, and leaks from
test to test: a "1 per minute" route passes alone and fails after another test
used it. (What lives on ``g``, as flask-login's cached user, needs nothing:
each test and each request has an app context of its own.) Three sources, run
in this order:

- built-in resets for the extensions found on the app, each only for state that
  lives in this process (a Redis or Memcached store, or a cache directory, may
  be shared with a server or another run: never emptied by a test run);
- the ``testbed_reset`` callables (``module:callable``, taking the app);
- the ``pytest_testbed_reset(app)`` hook of conftest.py files and plugins.

The list is built once, at the first test that ends, so a test pays only for
the resets that apply to its app.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from .errors import TestbedError, one_line

Reset = Callable[[Flask], Any]


def load_callables(specs: Iterable[str], rootdir: Path) -> list[Reset]:
    """Import each ``module:callable`` of ``testbed_reset``; a bad one is one line, at startup."""
    callables = []
    for spec in specs:
        module_name, _, attr = spec.partition(":")
        where = f"testbed_reset entry {spec!r}"
        if not module_name or not attr:
            raise TestbedError(
                f"{where} is not of the form module:callable "
                "(e.g. myapp.testing:reset_cache); fix testbed_reset / --testbed-reset / "
                "TESTBED_RESET"
            )
        if str(rootdir) not in sys.path:
            sys.path.insert(0, str(rootdir))  # like testbed_app: the project's modules first
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise TestbedError(
                f"cannot import {module_name!r} for {where}: {type(exc).__name__}: "
                f"{one_line(exc)}; check the module path in testbed_reset"
            ) from None
        target = module
        for part in attr.split("."):
            target = getattr(target, part, None)
            if target is None:
                raise TestbedError(
                    f"module {module_name!r} has no attribute {attr!r} ({where}); "
                    "name a function that takes the app"
                )
        if not callable(target):
            raise TestbedError(
                f"{where} names a {type(target).__name__}, which cannot be called; "
                "name a function that takes the app"
            )
        callables.append(target)
    return callables


class Resets:
    """What runs after each database test of one run."""

    def __init__(self, config: pytest.Config, callables: list[Reset]) -> None:
        self._config = config
        self._callables = callables
        self._app: Flask | None = None
        self._steps: list[Callable[[], Any]] = []

    def after_test(self, app: Flask) -> None:
        """Run every reset that applies to ``app``."""
        if app is not self._app:
            self._steps = self._plan(app)
            self._app = app
        for step in self._steps:
            step()

    def _plan(self, app: Flask) -> list[Callable[[], Any]]:
        steps = [_bound(reset, app) for reset in builtin_resets(app)]
        steps += [_bound(reset, app) for reset in self._callables]
        hook = self._config.hook.pytest_testbed_reset
        # Every conftest.py was loaded by collection, before the first test ended.
        if hook.get_hookimpls():
            steps.append(lambda: hook(app=app))
        return steps


def _bound(reset: Reset, app: Flask) -> Callable[[], Any]:
    return lambda: reset(app)


def builtin_resets(app: Flask) -> list[Reset]:
    """The resets for the in-process state of the extensions registered on ``app``."""
    extensions = app.extensions
    found: list[Reset] = []
    if extensions.get("limiter"):
        found.append(reset_limiter_storage)
    if extensions.get("cache"):
        found.append(clear_in_process_caches)
    if "mailman" in extensions:
        found.append(empty_mail_outbox)
    return found


def reset_limiter_storage(app: Flask) -> None:
    """Flask-Limiter: forget every counter kept in this process (``memory://``).

    ``app.extensions["limiter"]`` is the set of limiters initialised on the app.
    Only a ``MemoryStorage`` is reset: a Redis or Memcached storage is shared
    with whatever else uses it, and resetting it would clear their limits too.
    """
    from limits.storage import MemoryStorage

    for limiter in app.extensions.get("limiter", ()):
        try:
            storage = limiter.storage
        except AssertionError:  # its storage is made by init_app: not used yet
            continue
        if isinstance(storage, MemoryStorage):
            storage.reset()


def clear_in_process_caches(app: Flask) -> None:
    """Flask-Caching: clear the caches that live in this process (``SimpleCache``, ``NullCache``).

    ``app.extensions["cache"]`` maps each ``Cache`` to its backend. Redis and
    Memcached are servers other processes read; a ``FileSystemCache`` is a
    directory that outlives the run and may be the development server's (point
    ``CACHE_DIR`` at a temporary directory in the test config instead): the run
    did not make them, so it does not clear them.
    """
    import cachelib
    from flask_caching.backends.nullcache import NullCache

    in_process = (cachelib.SimpleCache, cachelib.NullCache, NullCache)
    for backend in app.extensions.get("cache", {}).values():
        if isinstance(backend, in_process):
            backend.clear()


def empty_mail_outbox(app: Flask) -> None:
    """Flask-Mailman: empty the ``outbox`` its ``locmem`` backend appends each sent mail to.

    That list lives on ``app.extensions["mailman"]`` for the whole run. Flask-Mail
    keeps no outbox: ``mail.record_messages()`` gives each ``with`` block a new list.
    """
    outbox = getattr(app.extensions.get("mailman"), "outbox", None)
    if isinstance(outbox, list):
        outbox.clear()
