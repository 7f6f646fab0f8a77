"""The app's claim on its test databases: which URL each bind gets, and the lock on it.

Whichever way the app is built (``testbed_app``, or a session-scoped ``app``
fixture of the user's), its extension's ``init_app`` (Flask-SQLAlchemy's or
Flask-SQLAlchemy-Lite's: see :mod:`.integrations.layouts`) runs with the URLs
rewritten to test databases this run has claimed: named for the worker and
the slot free on the server, locked for the run's length, checked for safety
before the first connection.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy.engine import URL

from .database.leftovers import sweep
from .database.locks import RunLock
from .database.naming import test_database_url, xdist_worker
from .database.safety import check_test_databases
from .database.secrets import check_config_urls, scrub
from .database.servers import ensure_database
from .database.urls import is_in_memory, masked, sqlite_path
from .errors import TestbedError, one_line
from .integrations.layouts import FLASK_SQLALCHEMY, Layout, extensions

IN_MEMORY = "sqlite://"
#: key in app.extensions: the plugin's claim on the app's test databases
TESTBED = "flask_testbed"


def test_database_urls(
    config: Mapping[str, Any],
    database_url: str | None,
    allow_any: bool,
    role: str | None = None,
    slot: int = 1,
    layout: Layout = FLASK_SQLALCHEMY,
) -> dict[str | None, URL]:
    """The URL of every bind for this run, from the app's config and the plugin's settings.

    An explicit ``database_url`` must name a test database (or be allowed
    explicitly); a URL from the app's own config whose name is not a test
    name becomes ``test_<name>`` on the same server (beside it, for an SQLite
    file). Each xdist worker gets its own copy (``role`` is the worker's id,
    or the controller's: the template); ``slot`` > 1 when other runs hold the
    first names.
    """
    configured = layout.urls(config)
    check_config_urls(configured, database_url)
    if database_url and not allow_any:
        check_test_databases([(None, database_url)], allow_any=False)
    worker = role or xdist_worker()
    plan: dict[str | None, URL] = {}
    configured_default = configured.pop(None, None)
    default = database_url or configured_default
    if default is None and not configured:
        default = IN_MEMORY
    if default is not None:
        plan[None] = test_database_url(default, bool(database_url) or allow_any, worker, slot)
    for key, url in configured.items():
        plan[key] = test_database_url(url, allow_any, worker, slot)
    check_test_databases(plan.items(), allow_any)
    return plan


@dataclass(frozen=True)
class ClaimRequest:
    """What a run asks of the servers: which test databases, and how to wait for them.

    Built once from the settings and the run's place under xdist, and handed
    to everything that may claim databases: the app's loading, a user's own
    ``app`` fixture, engines made while the app loads, apps built later.
    """

    #: ``--testbed-db-url``: the default database's test URL, else the app's config decides
    database_url: str | None = None
    #: ``--testbed-allow-any-database``: names that do not look like test databases pass
    allow_any: bool = False
    #: the xdist worker's id, or the controller's role (its template); None outside xdist
    role: str | None = None
    #: on an xdist worker, the slot of databases its controller claimed
    slot: int | None = None
    #: wait for a run that holds the first names instead of taking the next slot (--reuse-db)
    wait: bool = False
    #: where the run's lines go
    say: Callable[[str], None] = print

    def urls(
        self, config: Mapping[str, Any], slot: int = 1, layout: Layout = FLASK_SQLALCHEMY
    ) -> dict[str | None, URL]:
        """The test database of every bind in ``config``, in ``slot``."""
        return test_database_urls(
            config, self.database_url, self.allow_any, self.role, slot, layout
        )

    def without_database_url(self) -> ClaimRequest:
        """The same request for the app's config alone (``database_url`` names one database)."""
        return dataclasses.replace(self, database_url=None)


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
    app: Flask, request: ClaimRequest, layout: Layout = FLASK_SQLALCHEMY
) -> Claim:
    """Choose this run's databases and lock them, before anything is created in them.

    A run that must keep its names (``wait``: ``--reuse-db`` keeps one stable
    database; ``slot``: an xdist worker uses its controller's) waits for a
    run that holds them; any other run takes the next free slot at once, so
    two CI jobs on one server never wait for each other.
    """
    slot, wait = request.slot, request.wait
    for candidate in [slot] if slot else range(1, _MAX_SLOTS + 1):
        raw = request.urls(app.config, candidate, layout)
        plan = {key: resolved_path(app, url, layout) for key, url in raw.items()}
        if layout.relative_to_instance and any(plan[key] is not url for key, url in raw.items()):
            # The extensions make the instance folder for a relative SQLite
            # path, but only in init_app: the run lock's file goes beside the
            # database first.
            os.makedirs(app.instance_path, exist_ok=True)
        locks = [RunLock(url) for url in dict.fromkeys(plan.values())]
        taken: list[RunLock] = []
        try:
            for lock in locks:
                if wait or slot:
                    lock.acquire(request.say)
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
            # The first slot's names, without the role: what leftovers are named after.
            first = dataclasses.replace(request, role=None).urls(app.config, 1, layout)
            bases = [resolved_path(app, url, layout) for url in first.values()]
            return Claim(plan, taken, candidate, list(dict.fromkeys(bases)))
        Claim(plan, taken, candidate).release()
        if wait:
            break
    raise TestbedError(
        f"{_MAX_SLOTS} test runs hold the test databases of {masked(plan[next(iter(plan))])}; "
        "wait for them to finish"
    )


def resolved_path(app: Any, url: URL, layout: Layout = FLASK_SQLALCHEMY) -> URL:
    """An SQLite file's URL with the absolute path its engine opens, as ``layout`` resolves it.

    Both extensions resolve a relative path in the app's instance folder; an
    engine the app made itself, as SQLite does, from the working directory.
    """
    if url.drivername not in ("sqlite", "sqlite+pysqlite") or is_in_memory(url):
        return url
    prefix, path = sqlite_path(url)
    if os.path.isabs(path):
        return url
    base = app.instance_path if layout.relative_to_instance else os.getcwd()
    return url.set(database=prefix + os.path.join(base, path))


def write_urls(
    config: Any, plan: Mapping[str | None, URL], layout: Layout = FLASK_SQLALCHEMY
) -> None:
    layout.write(config, plan)


def prepare_test_databases(app: Flask, claim: Claim, layout: Layout = FLASK_SQLALCHEMY) -> None:
    """Write the claimed URLs into the app's config and create the databases that are missing.

    The databases a plugin run made are remembered on the app, so that the
    harness drops them at the end (unless they are to be reused).
    """
    write_urls(app.config, claim.plan, layout)
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


def use_test_databases(app: Flask, integration: Any, request: ClaimRequest) -> None:
    """Point an app whose engines already exist at this run's test databases.

    An extension reads its config once, in ``init_app``; for an app object
    built before the plugin could see it, the integration rebuilds each
    engine whose URL changes (:meth:`.Integration.use_urls`).
    """
    claim = claim_of(app)
    if claim is not None:
        integration.check_urls(claim.plan)
        return
    layout = integration.layout
    claim = claim_test_databases(app, request, layout)
    try:
        integration.check_urls(claim.plan)  # before any database is created for it
        prepare_test_databases(app, claim, layout)
    except BaseException:
        claim.release()
        raise
    integration.use_urls(claim.plan)


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
def test_databases_on_init(request: ClaimRequest) -> Iterator[None]:
    """While the user's code builds the app: redirect every ``init_app`` to test databases.

    The claims are released again if building the app fails: no lock of a
    run that never started may outlive it.
    """
    # Apps built from the same configuration (one at import, one by the
    # factory) share one claim: two claims would be two slots of databases.
    claims: dict[str, Claim] = {}

    def wrapped(original: Callable[..., None], layout: Layout) -> Callable[..., None]:
        def init_app(self: Any, app: Flask, *args: Any, **kwargs: Any) -> None:
            wanted = repr(request.urls(app.config, 1, layout))
            claim = claims.get(wanted)
            if claim is None:
                claim = claims[wanted] = claim_test_databases(app, request, layout)
            prepare_test_databases(app, claim, layout)
            original(self, app, *args, **kwargs)

        return init_app

    patched = [(cls, cls.init_app) for cls, _layout in extensions()]
    for (cls, original), (_cls, layout) in zip(patched, extensions(), strict=True):
        cls.init_app = wrapped(original, layout)
    try:
        yield
    except BaseException:
        for claim in claims.values():
            claim.release()
        raise
    finally:
        for cls, original in patched:
            cls.init_app = original
