"""The database lifecycle of one test run, for one app.

The fixtures and hooks stay thin: they tell the harness where pytest is
(a scope begins, a test ends) and the harness decides what the database does.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask.ctx import AppContext
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from .claims import ClaimRequest, claim_of, release_claim, unreachable, use_test_databases
from .config import Settings
from .configstate import ConfigKeeper
from .contexts import Contexts
from .database import migrations
from .database.backends import CannotClone, backend_for
from .database.inventory import DropBlocked, Inventory
from .database.naming import is_in_memory, template_url, test_database_url, xdist_worker
from .database.safety import check_test_databases
from .database.schema import (
    Migrations,
    binds,
    create_schema,
    drop_schema,
    is_current,
    maintenance,
    note_built,
)
from .database.schemas import named_schemas, schema_map
from .database.secrets import scrub
from .database.servers import clone_database, drop_database, ensure_database
from .database.urls import masked
from .errors import one_line
from .guards import forks, threads
from .guards.access import AccessBlocker
from .guards.leaks import LeakCheck
from .guards.queries import QueryCounter
from .integrations import INTEGRATION, Integration, detect
from .isolation import Isolation
from .later_apps import LaterApps
from .scopes import Scopes


class Harness(Scopes):
    """The database lifecycle of one run: check, build, clone, drop, release.

    Scopes (a module, a class, a test) and their sandboxes are :class:`Scopes`'.
    """

    def __init__(
        self,
        app: Flask,
        settings: Settings,
        request: ClaimRequest | None = None,
        templates: bool = False,
    ) -> None:
        self.app = app
        self.settings = settings
        #: what the run asks of the servers (the settings' URL, its role and slot under xdist)
        self.request = request or ClaimRequest(
            settings.database_url, settings.allow_any_database, wait=settings.reuse_db
        )
        self.say = self.request.say
        #: the xdist controller's TEMPLATE, else None (a worker knows its id itself)
        self.role = self.request.role
        #: whether this worker's databases are cloned from the controller's templates
        self.templates = templates
        #: where the app's engines, tables and sessions are
        self.integration: Integration = detect(app, settings)
        # Where code that has only the app finds it (ModelFactory's session).
        app.extensions[INTEGRATION] = self.integration
        #: each test's app.config, nested values included, comes back when it ends
        self.config = ConfigKeeper(app.config)
        self._context: AppContext | None = None
        self.contexts = Contexts(app, self.integration, settings.uncommitted, self._sandbox)
        self._later: LaterApps | None = None
        #: engines of apps built during the run
        self._later_engines: list[Any] = []
        self._isolations: dict[str, Isolation] = {}
        self._active: Isolation | None = None
        self._generation = 0
        self.started = False
        self.blocker = AccessBlocker()
        self.engines: list[Any] = []
        self.queries = QueryCounter(self.engines)
        self._leaks: LeakCheck | None = None
        #: worker databases replaced by a clone: this run's to drop, even if a killed run made them
        self._cloned: list[Any] = []
        #: schemas this run created inside a test database, per engine: its to drop
        self._schemas_made: list[tuple[Any, list[str]]] = []
        #: what each database held before the schema was built: never the run's to drop
        self.inventory = Inventory()

    @property
    def db(self) -> Any:
        """What the ``db`` fixture hands out: the app's extension (or what stands for it)."""
        return self.integration.extension

    # -- the run --------------------------------------------------------

    def check(self) -> None:
        """Everything that can be wrong before the first statement: safety, then reachability."""
        with self.app.app_context():
            use_test_databases(self.app, self.integration, self.request)
            engines = dict(self.integration.engines)
            check_test_databases(
                [(key, engine.url) for key, engine in engines.items()],
                self.settings.allow_any_database,
            )
            for key, engine in engines.items():
                try:
                    with engine.connect():
                        pass
                except Exception as exc:  # whatever the driver raises, it means: not reachable
                    raise unreachable(key, engine.url, exc) from None
                # Hold nothing until the run lock is ours: an idle connection would
                # keep another run from cloning or dropping this database.
                engine.dispose()
            self._map_schemas(engines)
            self.engines[:] = engines.values()
            self.blocker.install(self.engines)

    def _map_schemas(self, engines: Mapping[str | None, Any]) -> None:
        """Keep the tables of models in other schemas inside test databases (before any DDL)."""
        if self.settings.allow_any_database:
            return  # the user takes every database as it is named
        claim = claim_of(self.app)
        slot = claim.slot if claim is not None else 1
        worker = self.role or xdist_worker()
        for key, engine in engines.items():
            metadata = self.integration.metadatas.get(key)
            if metadata is None:
                continue
            url = engine.url

            def twin(schema: str, url: Any = url) -> str:
                return test_database_url(url.set(database=schema), False, worker, slot).database

            mapping = schema_map(engine, metadata, twin)
            if not mapping:
                continue
            engine.update_execution_options(schema_translate_map=mapping)
            if backend_for(engine).schemas_are_databases:
                for name in dict.fromkeys(mapping.values()):
                    database = url.set(database=name)
                    owned = ensure_database(database)
                    if owned and claim is not None and database not in claim.owned:
                        claim.owned.append(database)

    def start(self) -> None:
        """Check, then create the schema and open the default strategy, in an app context."""
        threads.forget()
        try:
            self.integration.install()
            self._prepare()
            forks.watch_engines(self.engines)
            with self.blocker.allowed():
                reuse = self.settings.reuse_db and not self.settings.create_db
                cloned = self._clone_templates(reuse) if self.templates else set()
                self._create_schemas()
                self.inventory = Inventory.take(binds(self.integration), owned=self._created)
                reused = create_schema(
                    self.integration, reuse, self._migrations(), cloned, self.inventory
                )
                if reused and reuse:
                    self.say(
                        "reusing the test database: its schema is current (--create-db rebuilds)"
                    )
                if not reused:
                    note_built(self.inventory)
                if self.settings.check_leaks:
                    self._leaks = LeakCheck(self.integration)
                self._activate(self.settings.strategy)
                self.contexts.install()
                self._later_apps().install()
        except BaseException:
            # No half-started run: its app context and locks would outlive it.
            self._release()
            raise
        self.started = True

    def _prepare(self) -> None:
        self.check()
        claim = claim_of(self.app)
        if claim is not None and not self.settings.reuse_db and xdist_worker() is None:
            claim.sweep()
        if not _has_app_context(self.app):
            self._context = self.app.app_context()
            self._context.push()
        for engine in self.engines:
            backend_for(engine).prepare_engine(engine)

    def _create_schemas(self) -> None:
        """Create the schemas the models use inside the test databases, where they live there."""
        for _key, engine, metadata in binds(self.integration):
            mapping = engine.get_execution_options().get("schema_translate_map") or {}
            names = [name for name in named_schemas(metadata) if name not in mapping]
            if names:
                with maintenance(engine) as connection:
                    created = backend_for(engine).create_schemas(connection, names)
                if created:
                    self._schemas_made.append((engine, created))

    def _drop_schemas(self) -> None:
        for engine, names in self._schemas_made:
            with maintenance(engine) as connection:
                backend_for(engine).drop_schemas(connection, names)
        self._schemas_made = []

    def _databases(self) -> list[Any]:
        return list(dict.fromkeys(engine.url for engine in self.engines))

    # -- templates under pytest-xdist -----------------------------------

    def build_templates(self) -> None:
        """On the xdist controller: build the schema once, for the workers to clone.

        The run lock on each template is held until :meth:`finish_templates`,
        so a second run waits instead of rebuilding it under the workers.
        """
        try:
            self.integration.install()
            self._prepare()
            with self.blocker.allowed():
                self._create_schemas()
                self.inventory = Inventory.take(binds(self.integration), owned=self._created)
                if create_schema(
                    self.integration, not self.settings.create_db, self._migrations(),
                    inventory=self.inventory,
                ):
                    self.say("reusing the template database: its schema is current")
                else:
                    note_built(self.inventory)
                self.integration.remove_sessions()
        except BaseException:
            self._release()
            raise
        # Nothing may stay connected to a template PostgreSQL copies.
        for engine in self.engines:
            engine.dispose()
        self.blocker.uninstall()

    def finish_templates(self) -> None:
        try:
            if not self.settings.reuse_db:
                for url in self._owned():
                    drop_database(url)
        finally:
            self._release()

    def _clone_templates(self, reuse: bool) -> set[str | None]:
        """Copy the controller's template into each of this worker's databases.

        Returns the binds that were cloned. A worker database a previous
        ``--reuse-db`` run left current is kept; one the backend cannot clone
        (or whose template is gone) is built by the worker itself.
        """
        worker = xdist_worker()
        assert worker is not None, "only xdist workers clone templates"
        migrations = self._migrations()
        cloned: set[str | None] = set()
        for url in self._databases():
            if is_in_memory(url):
                continue
            keys = [key for key, engine in self.integration.engines.items() if engine.url == url]
            if reuse and all(is_current(self.integration, key, migrations) for key in keys):
                continue
            if any(_has_twins(self.integration.engines[key]) for key in keys):
                continue  # its twins are databases of their own: built here, with the schema
            for engine in self.engines:
                engine.dispose()  # PostgreSQL drops a database only when nobody uses it
            template = template_url(url, worker)
            try:
                clone_database(template, url)
            except (CannotClone, DBAPIError) as exc:
                reason = scrub(one_line(getattr(exc, "orig", None) or exc), template, url)
                # A warning: xdist brings it from the worker to the run's summary.
                warnings.warn(
                    f"flask-testbed: cannot clone {masked(template)} ({reason}); "
                    f"{masked(url)} builds its own schema",
                    stacklevel=1,
                )
                if ensure_database(url):
                    claim_of(self.app).owned.append(url)
                continue
            cloned.update(keys)
            self._cloned.append(url)
        return cloned

    def _migrations(self) -> Migrations | None:
        if self.settings.schema != "migrations":
            return None
        claim = claim_of(self.app)
        source = migrations.source_for(
            self.app,
            self.integration.engines.get(None),
            self.settings.alembic_ini,
            claim.plan.values() if claim is not None else (),
        )
        return Migrations(source.head(), source.upgrade)

    def finish(self) -> None:
        """Drop what the run made and release what it holds; a blocked drop is raised last."""
        blocked: DropBlocked | None = None
        try:
            with self.blocker.allowed():
                if self._active is not None:
                    self._active.close()
                    self._active = None
                self.integration.remove_sessions()
                self._let_go_of_leftovers()
                try:
                    drop_schema(
                        self.integration, self.inventory, keep_tables=self.settings.reuse_db
                    )
                except DropBlocked as exc:
                    blocked = exc  # the rest of the cleanup still runs
                if not self.settings.reuse_db:
                    self._drop_schemas()
            if self._leaks is not None:
                self._leaks.close()
            self.blocker.uninstall()
            for engine in [*self.engines, *self._later_engines]:
                engine.dispose()
            if not self.settings.reuse_db:
                for url in dict.fromkeys([*self._owned(), *self._cloned]):
                    drop_database(url)
        finally:
            self._release()
        if blocked is not None and not self._dropped_whole(blocked.url):
            raise blocked
        # Refused after the last test ended: the run's error, no test is left to carry it.
        threads.report_refused()

    def _let_go_of_leftovers(self) -> None:
        """Close what a test left open on the app's connections before the run drops its tables.

        A failing test's traceback keeps its half-read results alive (a
        ``yield_per`` stream): on SQLite their statement would lock the table
        against the DROP on the same connection. Every pooled connection is
        closed (an in-memory database lives in its one connection: kept).
        """
        for engine in self.engines:
            if not is_in_memory(engine.url):
                engine.dispose()

    def _created(self, url: URL) -> bool:
        """Whether this run created the database: then everything in it is the run's."""
        return any(_same_database(url, owned) for owned in self._owned())

    def _dropped_whole(self, url: URL) -> bool:
        return not self.settings.reuse_db and (
            self._created(url) or any(_same_database(url, c) for c in self._cloned)
        )

    def _owned(self) -> list[Any]:
        """The databases a plugin run made: this run's to drop."""
        claim = claim_of(self.app)
        return list(claim.owned) if claim is not None else []

    @property
    def claimed_slot(self) -> int | None:
        claim = claim_of(self.app)
        return claim.slot if claim is not None else None

    def release(self) -> None:
        """Let go of the databases' locks and the app context; nothing is dropped."""
        self._release()

    def _later_apps(self) -> LaterApps:
        if self._later is None:
            claim = claim_of(self.app)
            assert claim is not None, "the run's databases are claimed before it starts"
            self._later = LaterApps(claim, self.request, self._adopt_engines)
        return self._later

    def _adopt_engines(self, engines: list[Any]) -> None:
        """Engines of an app built during the run: guarded like the app's, disposed at the end."""
        self.blocker.install(engines)
        self._later_engines.extend(engines)
        if self._active is not None:
            self._active.adopt(engines)

    def _release(self) -> None:
        if self._later is not None:
            self._later.uninstall()
        for engine in self._later_engines:
            engine.dispose()
        self._later_engines = []
        forks.unwatch_engines(self.engines)
        self.contexts.uninstall()
        self.integration.uninstall()
        release_claim(self.app)
        self.started = False
        if self._context is not None:
            self._context.pop()
            self._context = None


def _has_twins(engine: Any) -> bool:
    """Whether some of the engine's models live in test twins a clone would not copy."""
    mapping = engine.get_execution_options().get("schema_translate_map")
    return bool(mapping) and not backend_for(engine).clones_schemas


def _same_database(a: URL, b: URL) -> bool:
    # The engine's URL carries the driver options Flask-SQLAlchemy adds (charset).
    return a.set(query={}) == b.set(query={})


def _has_app_context(app: Flask) -> bool:
    from flask import current_app

    return bool(current_app) and current_app._get_current_object() is app
