"""Finding the user's Flask app, building it, and pointing it at the test database."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.engine import URL

from .database.leftovers import sweep
from .database.locks import RunLock
from .database.naming import test_database_url, xdist_worker
from .database.safety import check_test_databases
from .database.secrets import check_config_urls, checked_parsing, scrub
from .database.servers import ensure_database
from .database.urls import is_in_memory, masked, sqlite_path
from .errors import TestbedError, one_line

IN_MEMORY = "sqlite://"
#: key in app.extensions: the plugin's claim on the app's test databases
TESTBED = "flask_testbed"


def load_app(
    path: str,
    factory_argument: str | None,
    database_url: str | None,
    allow_any_database: bool,
    rootdir: Path,
    role: str | None = None,
    slot: int | None = None,
    wait: bool = False,
    say: Callable[[str], None] = print,
) -> Flask:
    """Import ``module:attr`` and return the Flask app it names, in testing mode.

    The module is imported and a factory called while the extension's
    ``init_app`` is wrapped, so that the test database URL is in place and
    judged safe before the first engine exists: an app that creates tables
    itself (at import, or in its factory) never reaches another database.
    """
    with (
        _test_database_on_init(database_url, allow_any_database, role, slot, wait, say),
        checked_parsing(),
    ):
        return _build_app(path, factory_argument, rootdir, database_url)


def _build_app(
    path: str, factory_argument: str | None, rootdir: Path, database_url: str | None
) -> Flask:
    target = _import_target(path, rootdir, database_url)
    if isinstance(target, Flask):
        app = target
    elif callable(target):
        try:
            app = target(factory_argument) if factory_argument else target()
        except TestbedError:
            raise
        except (SystemExit, KeyboardInterrupt) as exc:
            # Left alone, pytest would print its own INTERNALERROR traceback.
            raise TestbedError(
                _stopped(
                    f"the app factory {path}", exc, database_url,
                    "a factory returns the app: let it raise an exception that says "
                    "what is wrong, or fix testbed_app_config",
                )
            ) from None
        except Exception as exc:
            raise TestbedError(
                f"the app factory {path} raised {type(exc).__name__}: "
                f"{scrub(one_line(exc), database_url)}; fix the factory or testbed_app_config"
            ) from None
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


def extension_of(app: Flask) -> SQLAlchemy:
    """The Flask-SQLAlchemy extension registered on ``app``."""
    db = app.extensions.get("sqlalchemy")
    if not isinstance(db, SQLAlchemy):
        raise TestbedError(
            f"the app {app.import_name!r} has no Flask-SQLAlchemy extension: "
            "call db.init_app(app) in the factory before the tests use it"
        )
    return db


def test_database_urls(
    config: Mapping[str, Any],
    database_url: str | None,
    allow_any: bool,
    role: str | None = None,
    slot: int = 1,
) -> dict[str | None, URL]:
    """The URL of every bind for this run, from the app's config and the plugin's settings.

    An explicit ``database_url`` must name a test database (or be allowed
    explicitly); a URL from the app's own config whose name is not a test
    name becomes ``test_<name>`` on the same server (beside it, for an SQLite
    file). Each xdist worker gets its own copy (``role`` is the worker's id,
    or the controller's: the template); ``slot`` > 1 when other runs hold the
    first names.
    """
    check_config_urls(config, database_url)
    if database_url and not allow_any:
        check_test_databases([(None, database_url)], allow_any=False)
    worker = role or xdist_worker()
    plan: dict[str | None, URL] = {}
    default = database_url or config.get("SQLALCHEMY_DATABASE_URI")
    binds = config.get("SQLALCHEMY_BINDS") or {}
    if default is None and not binds:
        default = IN_MEMORY
    if default is not None:
        plan[None] = test_database_url(default, bool(database_url) or allow_any, worker, slot)
    for key, value in binds.items():
        url = value.get("url") if isinstance(value, dict) else value
        if url is not None:
            plan[key] = test_database_url(url, allow_any, worker, slot)
    check_test_databases(plan.items(), allow_any)
    return plan


@dataclass
class Claim:
    """The databases a run took: where each bind goes, the run locks it holds, what it made."""

    plan: dict[str | None, URL]
    locks: list[RunLock]
    slot: int
    #: this run's names in the first slot, outside xdist: what leftovers are named after
    bases: list[URL] = field(default_factory=list)
    #: databases a plugin run made (this one, or a killed one): this run drops them at its end
    owned: list[URL] = field(default_factory=list)

    def sweep(self) -> list[URL]:
        """Drop the slots and worker copies that killed runs left beside this run's names."""
        keep = list(self.plan.values())
        return [url for base in self.bases for url in sweep(base, keep)]

    def release(self) -> None:
        for lock in self.locks:
            lock.release()
        self.locks = []


#: how many runs at once may each take a database of their own
_MAX_SLOTS = 64


def claim_test_databases(
    app: Flask,
    database_url: str | None,
    allow_any: bool,
    role: str | None = None,
    slot: int | None = None,
    wait: bool = False,
    say: Callable[[str], None] = print,
) -> Claim:
    """Choose this run's databases and lock them, before anything is created in them.

    A run that must keep its names (``wait``: ``--reuse-db`` keeps one stable
    database; ``slot``: an xdist worker uses its controller's) waits for a
    run that holds them; any other run takes the next free slot at once, so
    two CI jobs on one server never wait for each other.
    """
    for candidate in [slot] if slot else range(1, _MAX_SLOTS + 1):
        plan = {
            key: _beside_instance(app, url)
            for key, url in test_database_urls(
                app.config, database_url, allow_any, role, candidate
            ).items()
        }
        locks = [RunLock(url) for url in dict.fromkeys(plan.values())]
        taken: list[RunLock] = []
        try:
            for lock in locks:
                if wait or slot:
                    lock.acquire(say)
                elif not lock.try_acquire():
                    break
                taken.append(lock)
        except BaseException as exc:
            Claim(plan, taken, candidate).release()
            if isinstance(exc, TestbedError):  # waited too long for another run
                raise
            if isinstance(exc, Exception):  # whatever the driver raises: not reachable
                key = next(key for key, url in plan.items() if url == lock.url)
                raise unreachable(key, lock.url, exc) from None
            raise
        if len(taken) == len(locks):
            bases = [
                _beside_instance(app, url)
                for url in test_database_urls(app.config, database_url, allow_any).values()
            ]
            return Claim(plan, taken, candidate, list(dict.fromkeys(bases)))
        Claim(plan, taken, candidate).release()
        if wait:
            break
    raise TestbedError(
        f"{_MAX_SLOTS} test runs hold the test databases of {masked(plan[next(iter(plan))])}; "
        "wait for them to finish"
    )


def _beside_instance(app: Flask, url: URL) -> URL:
    """An SQLite file path as Flask-SQLAlchemy resolves it: relative to the instance folder."""
    if url.drivername not in ("sqlite", "sqlite+pysqlite") or is_in_memory(url):
        return url
    prefix, path = sqlite_path(url)
    if os.path.isabs(path):
        return url
    return url.set(database=prefix + os.path.join(app.instance_path, path))


def prepare_test_databases(app: Flask, claim: Claim) -> None:
    """Write the claimed URLs into the app's config and create the databases that are missing.

    The databases a plugin run made are remembered on the app, so that the
    harness drops them at the end (unless they are to be reused).
    """
    config = app.config
    for key, url in claim.plan.items():
        text = url.render_as_string(hide_password=False)
        if key is None:
            config["SQLALCHEMY_DATABASE_URI"] = text
        else:
            binds = config["SQLALCHEMY_BINDS"]
            value = binds[key]
            binds[key] = {**value, "url": text} if isinstance(value, dict) else text
    for key, url in claim.plan.items():
        try:
            if url not in claim.owned and ensure_database(url):
                claim.owned.append(url)
        except Exception as exc:  # whatever the driver raises, the server is not usable
            raise unreachable(key, url, exc) from None
    app.extensions[TESTBED] = claim


def is_prepared(app: Flask) -> bool:
    return TESTBED in app.extensions


def claim_of(app: Flask) -> Claim | None:
    """What the plugin claimed for ``app``, if it did."""
    return app.extensions.get(TESTBED)


def release_claim(app: Flask) -> None:
    """Let other runs have ``app``'s databases (its locks go; the databases stay)."""
    claim = claim_of(app)
    if claim is not None:
        claim.release()


def use_test_databases(
    app: Flask,
    db: SQLAlchemy,
    database_url: str | None,
    allow_any: bool,
    role: str | None = None,
    slot: int | None = None,
    wait: bool = False,
    say: Callable[[str], None] = print,
) -> None:
    """Point an app whose engines already exist at this run's test databases.

    Flask-SQLAlchemy reads its config once, in ``init_app``; an app object
    built before the plugin could see it gets each engine whose URL changes
    rebuilt with the same options the extension would have used.
    """
    if is_prepared(app):
        return
    claim = claim_test_databases(app, database_url, allow_any, role, slot, wait, say)
    try:
        prepare_test_databases(app, claim)
    except BaseException:
        claim.release()
        raise
    engines = db._app_engines[app]
    for key, url in claim.plan.items():
        current = engines.get(key)
        if current is not None and current.url == url:
            continue
        if current is not None:
            current.dispose()
        if key is None:
            options: dict[str, Any] = dict(db._engine_options)
            options.update(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
        else:
            value = app.config["SQLALCHEMY_BINDS"][key]
            options = dict(db._engine_options)
            options.update(value if isinstance(value, dict) else {})
        options["url"] = url
        options.setdefault("echo", app.config.get("SQLALCHEMY_ECHO", False))
        options.setdefault("echo_pool", options["echo"])
        db._make_metadata(key)
        db._apply_driver_defaults(options, app)
        engines[key] = db._make_engine(key, options, app)
        if app.config.get("SQLALCHEMY_RECORD_QUERIES"):
            from flask_sqlalchemy import record_queries

            record_queries._listen(engines[key])


def unreachable(key: str | None, url: Any, exc: BaseException) -> TestbedError:
    """The one-line error for a server the run cannot reach (password masked)."""
    where = "the default database" if key is None else f"bind {key!r}"
    cause = getattr(exc, "orig", None) or exc
    reason = scrub(one_line(cause), url)
    return TestbedError(
        f"cannot connect to {masked(url)} ({where}): {reason}; "
        "start the server or fix the URL (--testbed-db-url / TESTBED_DATABASE_URL)"
    )


@contextlib.contextmanager
def _test_database_on_init(
    database_url: str | None,
    allow_any: bool,
    role: str | None,
    slot: int | None,
    wait: bool,
    say: Callable[[str], None],
) -> Iterator[None]:
    """While the user's code builds the app: redirect every ``init_app`` to test databases.

    The claims are released again if building the app fails: no lock of a
    run that never started may outlive it.
    """
    original = SQLAlchemy.init_app
    # Apps built from the same configuration (one at import, one by the
    # factory) share one claim: two claims would be two slots of databases.
    claims: dict[str, Claim] = {}

    def init_app(self: SQLAlchemy, app: Flask) -> None:
        wanted = repr(test_database_urls(app.config, database_url, allow_any, role))
        claim = claims.get(wanted)
        if claim is None:
            claim = claims[wanted] = claim_test_databases(
                app, database_url, allow_any, role, slot, wait, say
            )
        prepare_test_databases(app, claim)
        original(self, app)

    SQLAlchemy.init_app = init_app  # type: ignore[method-assign]
    try:
        yield
    except BaseException:
        for claim in claims.values():
            claim.release()
        raise
    finally:
        SQLAlchemy.init_app = original  # type: ignore[method-assign]


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
    try:
        module = importlib.import_module(module_name)  # under load_app's checked_parsing
    except TestbedError:
        raise
    except (SystemExit, KeyboardInterrupt) as exc:
        raise TestbedError(
            _stopped(
                f"importing {module_name!r} for testbed_app = {path}", exc, database_url,
                "a module must not exit when it is imported: "
                "put that code under if __name__ == '__main__':",
            )
        ) from None
    except Exception as exc:
        raise TestbedError(
            f"cannot import {module_name!r} for testbed_app = {path}: "
            f"{type(exc).__name__}: {scrub(one_line(exc), database_url)}; "
            "check the module path and that its directory is on sys.path"
        ) from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise TestbedError(
            f"module {module_name!r} has no attribute {attr!r} (testbed_app = {path}); "
            "name the app object or the factory"
        ) from None


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
