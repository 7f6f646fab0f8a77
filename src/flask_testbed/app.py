"""Finding the user's Flask app, building it, and pointing it at the test database."""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flask import Flask

from .claims import ClaimRequest, test_databases_on_init
from .database.secrets import checked_parsing, scrub
from .errors import TestbedError, one_line


def load_app(
    path: str,
    factory_argument: str | None,
    rootdir: Path,
    request: ClaimRequest,
    engines: bool = False,
) -> Flask:
    """Import ``module:attr`` and return the Flask app it names, in testing mode.

    The module is imported and a factory called while the extension's
    ``init_app`` is wrapped, so that the test database URL is in place and
    judged safe before the first engine exists: an app that creates tables
    itself (at import, or in its factory) never reaches another database.
    With ``engines`` (a plain SQLAlchemy app: ``testbed_engine`` is set),
    ``create_engine`` is wrapped the same way (:mod:`.integrations.plain`).
    """
    with (
        test_databases_on_init(request),
        _created_engines(engines, request) as created,
        checked_parsing(),
    ):
        app = _build_app(path, factory_argument, rootdir, request.database_url)
        created.attach(app)
        return app


@contextlib.contextmanager
def building_app(
    request: ClaimRequest, engines: bool = False
) -> Iterator[Callable[[Flask], None]]:
    """While the user's own code builds the app: every engine it makes is a test database's.

    What :func:`load_app` does around ``testbed_app``, for an app that a
    session-scoped ``app`` fixture of the user's builds instead. What it
    yields hands a plain SQLAlchemy app the databases its engines were given.
    """
    with (
        test_databases_on_init(request),
        _created_engines(engines, request) as created,
        checked_parsing(),
    ):
        yield created.attach


@contextlib.contextmanager
def _created_engines(engines: bool, request: ClaimRequest) -> Iterator[Any]:
    from .integrations.plain import CreatedEngines, test_engines_on_create

    if not engines:
        yield CreatedEngines()  # nothing made, nothing to hand over
        return
    with test_engines_on_create(request) as created:
        yield created


def _build_app(
    path: str, factory_argument: str | None, rootdir: Path, database_url: str | None
) -> Flask:
    target = _import_target(path, rootdir, database_url)
    if isinstance(target, Flask):
        app = target
    elif callable(target):
        with _user_code(
            f"the app factory {path}",
            database_url,
            exited="a factory returns the app: let it raise an exception that says "
            "what is wrong, or fix testbed_app_config",
            failed=f"the app factory {path} raised {{error}}; "
            "fix the factory or testbed_app_config",
        ):
            app = target(factory_argument) if factory_argument else target()
        if not isinstance(app, Flask):
            raise TestbedError(
                f"the app factory {path} returned {type(app).__name__}, not a Flask app; "
                "point testbed_app at the factory or at the app object"
            )
    else:
        raise TestbedError(
            f"{path} is a {type(target).__name__}, neither a Flask app nor a factory; "
            "set testbed_app to module:app or module:create_app"
        )
    app.config["TESTING"] = True
    return app


def _import_target(path: str, rootdir: Path, database_url: str | None = None) -> Any:
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise TestbedError(
            f"testbed_app = {path!r} is not of the form module:attr "
            "(e.g. myapp:create_app or wsgi:app)"
        )
    # Like `flask --app`, look in the project directory first.
    if str(rootdir) not in sys.path:
        sys.path.insert(0, str(rootdir))
    with _user_code(
        f"importing {module_name!r} for testbed_app = {path}",
        database_url,
        exited="a module must not exit when it is imported: "
        "put that code under if __name__ == '__main__':",
        failed=f"cannot import {module_name!r} for testbed_app = {path}: {{error}}; "
        "check the module path and that its directory is on sys.path",
    ):
        module = importlib.import_module(module_name)  # under load_app's checked_parsing
    try:
        return getattr(module, attr)
    except AttributeError:
        raise TestbedError(
            f"module {module_name!r} has no attribute {attr!r} (testbed_app = {path}); "
            "name the app object or the factory"
        ) from None


@contextlib.contextmanager
def _user_code(subject: str, database_url: str | None, exited: str, failed: str) -> Iterator[None]:
    """Turn what the user's code raises while the app loads into one line.

    ``failed`` gets the exception as ``{error}``; a ``sys.exit()`` or Ctrl-C
    gets ``exited`` as its fix. The URL's password never shows.
    """
    try:
        yield
    except TestbedError:
        raise
    except (SystemExit, KeyboardInterrupt) as exc:
        raise TestbedError(_stopped(subject, exc, database_url, exited)) from None
    except Exception as exc:
        error = f"{type(exc).__name__}: {scrub(one_line(exc), database_url)}"
        raise TestbedError(failed.replace("{error}", error)) from None


def _stopped(
    subject: str, exc: SystemExit | KeyboardInterrupt, database_url: str | None, fix: str
) -> str:
    """The one-line error for user code that ends the program while the app loads.

    Left to pytest, either is an INTERNALERROR traceback (or an interrupted
    run) that never says which setting to look at.
    """
    if isinstance(exc, KeyboardInterrupt):
        # A real Ctrl-C while the app loads lands here too: the message allows for it.
        return f"{subject} raised KeyboardInterrupt; if Ctrl-C was not pressed, {fix}"
    code = "" if exc.code is None else scrub(repr(exc.code), database_url)
    return f"{subject} called sys.exit({code}); {fix}"
