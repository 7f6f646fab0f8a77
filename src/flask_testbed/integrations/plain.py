"""Plain SQLAlchemy wired by hand (the Flask docs' pattern): named by three settings.

``testbed_engine`` names the engine(s), ``testbed_session`` the
``scoped_session`` (or ``sessionmaker``) and ``testbed_metadata`` the tables.
Such an engine is usually made when its module is imported, before any config
key could be rewritten, so while the plugin loads the app ``create_engine`` is
wrapped (:func:`test_engines_on_create`): an engine made then gets this run's
test database in place of its URL, named and claimed as the extensions' are.
An engine made earlier (a conftest imported its module first) is used only if
its URL is the test database this run would have given it; anything else is
refused in one line.

A ``scoped_session`` keeps one session per thread: in a test, the requests
run in the test's thread, so they would share, and close, the test's session.
For the run's length its registry keeps one session per :mod:`contextvars`
context instead, and each request (and each thread) runs in a context of its
own, as it runs in a thread of its own in production.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
from collections.abc import Callable, Iterator, Mapping
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import sqlalchemy.engine
from flask import Flask
from sqlalchemy import Engine, MetaData
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from ..database.urls import masked
from ..errors import TestbedError
from .base import Held, Integration
from .layouts import Layout

if TYPE_CHECKING:
    from ..claims import ClaimRequest


class EnginesLayout(Layout):
    """The URLs of engines the app made itself: nothing in its config to rewrite."""

    key = "testbed_engine"
    relative_to_instance = False

    def __init__(self, urls: Callable[[], Mapping[str | None, Any]]) -> None:
        self._urls = urls

    def urls(self, config: Mapping[str, Any]) -> dict[str | None, Any]:
        return dict(self._urls())

    def write(self, config: Any, plan: Mapping[str | None, URL]) -> None:
        pass  # the engines exist: they are checked, not made again


class _CreatedLayout(Layout):
    """One create_engine call's URL, as a one-engine config (see test_engines_on_create)."""

    key = "create_engine"
    relative_to_instance = False

    def urls(self, config: Mapping[str, Any]) -> dict[str | None, Any]:
        return {None: config["url"]}

    def write(self, config: Any, plan: Mapping[str | None, URL]) -> None:
        pass


class _ContextRegistry:
    """A ``scoped_session`` registry: one session per contextvars context (see the module)."""

    def __init__(self, createfunc: Callable[[], Session]) -> None:
        self.createfunc = createfunc
        self._session: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
            "testbed_plain_session", default=None
        )

    def __call__(self) -> Session:
        session = self._session.get()
        if session is None:
            session = self.createfunc()
            self._session.set(session)
        return session

    def has(self) -> bool:
        return self._session.get() is not None

    def set(self, obj: Session) -> None:
        self._session.set(obj)

    def clear(self) -> None:
        self._session.set(None)


class PlainIntegration(Integration):
    name = "plain SQLAlchemy"

    def __init__(
        self,
        app: Flask,
        engines: Mapping[str | None, Engine],
        metadatas: Mapping[str | None, MetaData],
        session: Any,
    ) -> None:
        super().__init__(app)
        for key, engine in engines.items():
            if not isinstance(engine, Engine):
                where = "testbed_engine" if key is None else f"testbed_engine {key}="
                raise TestbedError(
                    f"{where} names a {type(engine).__name__}, not an SQLAlchemy Engine; "
                    "name the engine create_engine() returned (e.g. myapp.database:engine)"
                )
        if None not in engines:
            raise TestbedError(
                "testbed_engine names no default engine: give one entry without a name= "
                "(e.g. testbed_engine = myapp.database:engine)"
            )
        self._engines = dict(engines)
        self._metadatas = dict(metadatas)
        if isinstance(session, sessionmaker):
            session = scoped_session(session)
        if session is not None and not isinstance(session, scoped_session):
            raise TestbedError(
                f"testbed_session names a {type(session).__name__}: name the app's "
                "scoped_session or sessionmaker (e.g. myapp.database:db_session)"
            )
        self.scoped: scoped_session[Session] | None = session
        self._registry: Any = None
        self.layout = EnginesLayout(lambda: {k: e.url for k, e in self._engines.items()})

    @property
    def extension(self) -> Any:
        """``db``: what the app has instead of an extension (engines, session, metadata)."""
        return SimpleNamespace(
            engine=self._engines[None],
            engines=dict(self._engines),
            session=self.scoped,
            metadata=self._metadatas.get(None),
            metadatas=dict(self._metadatas),
        )

    def session(self) -> Any:
        if self.scoped is None:
            raise TestbedError(
                "db_session needs the app's session: set testbed_session = module:attr "
                "(its scoped_session or sessionmaker, e.g. myapp.database:db_session)"
            )
        return self.scoped

    @property
    def engines(self) -> Mapping[str | None, Engine]:
        return self._engines

    @property
    def metadatas(self) -> Mapping[str | None, MetaData]:
        return self._metadatas

    @property
    def session_classes(self) -> tuple[type[Session], ...]:  # type: ignore[override]
        if self.scoped is None:
            return (Session,)
        return (self.scoped.session_factory.class_,)

    def install(self) -> None:
        if self.scoped is not None and self._registry is None:
            self._registry = self.scoped.registry
            with contextlib.suppress(Exception):
                if self._registry.has():
                    self._registry().close()  # a session made before the run: not the test's
                self._registry.clear()
            self.scoped.registry = _ContextRegistry(self.scoped.session_factory)

    def uninstall(self) -> None:
        if self._registry is not None:
            assert self.scoped is not None
            self.scoped.registry = self._registry
            self._registry = None

    def context_sessions(self) -> list[Session]:
        scoped = self.scoped
        return [scoped()] if scoped is not None and scoped.registry.has() else []

    def take_sessions(self) -> Held:
        return self.scoped() if self.scoped is not None else None

    def held_sessions(self, held: Held) -> list[Session]:
        return [held] if held is not None else []

    def put_sessions(self, held: Held) -> None:
        if held is not None and self.scoped is not None:
            self.scoped.registry.set(held)

    def drop_sessions(self, held: Held) -> None:
        if self.scoped is not None:
            self.scoped.registry.clear()

    def restore_sessions(self, held: Held) -> None:
        # The test's context and the run's share one contextvars context.
        self.put_sessions(held)

    def remove_sessions(self) -> None:
        if self.scoped is not None:
            self.scoped.remove()

    def use_urls(self, plan: Mapping[str | None, URL]) -> None:
        self.check_urls(plan)

    def check_urls(self, plan: Mapping[str | None, URL]) -> None:
        """Refuse an engine that is not on one of the run's test databases (made too early)."""
        from ..claims import resolved_path

        ours = {url.set(query={}) for url in plan.values()}
        for key, engine in self._engines.items():
            if resolved_path(self.app, engine.url, self.layout).set(query={}) not in ours:
                where = "testbed_engine" if key is None else f"testbed_engine {key}="
                raise TestbedError(
                    f"{where} is on {masked(engine.url)}, not on this run's test database "
                    f"({', '.join(sorted(masked(u) for u in ours))}): it was made before the "
                    "plugin loaded the app (a conftest imported its module?); let testbed_app "
                    "import that module first, or make the engine in the app factory"
                )


class CreatedEngines:
    """The claims of the engines made while the app loads, to hand over to the app."""

    def __init__(self) -> None:
        self.claims: dict[str, Any] = {}

    def attach(self, app: Flask) -> None:
        """Give ``app`` one claim holding every database its engines were given."""
        from ..claims import TESTBED, Claim

        if not self.claims or TESTBED in app.extensions:
            return
        claims = list(self.claims.values())
        plan: dict[str | None, URL] = {}
        for claim in claims:
            url = claim.plan[None]
            if url not in plan.values():
                plan[None if not plan else f"engine {len(plan) + 1}"] = url
        app.extensions[TESTBED] = Claim(
            plan,
            [lock for claim in claims for lock in claim.locks],
            claims[0].slot,
            [base for claim in claims for base in claim.bases],
            [url for claim in claims for url in claim.owned],
        )

    def release(self) -> None:
        for claim in self.claims.values():
            claim.release()


@contextlib.contextmanager
def test_engines_on_create(request: ClaimRequest) -> Iterator[CreatedEngines]:
    """While the app loads: every engine the app's code makes is on a test database.

    ``testbed_database_url`` replaces the URL of the first engine made (the
    app's default); each URL gets its test database as the extensions' do
    (``test_<name>``, per worker, per slot), claimed and created if missing.
    """
    from ..claims import claim_test_databases, prepare_test_databases

    created = CreatedEngines()
    original = sa.create_engine
    layout = _CreatedLayout()

    def create_engine(url: Any, *args: Any, **kwargs: Any) -> Engine:
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller.startswith(("flask_testbed", "sqlalchemy")):
            return original(url, *args, **kwargs)  # the plugin's own engines
        # The configured URL is the first engine's (the app's default) alone.
        asked = request.without_database_url() if created.claims else request
        source = SimpleNamespace(config={"url": url}, extensions={})
        wanted = repr(asked.urls(source.config, 1, layout))
        claim = created.claims.get(wanted)
        if claim is None:
            claim = created.claims[wanted] = claim_test_databases(
                source, asked, layout  # type: ignore[arg-type]
            )
            prepare_test_databases(source, claim, layout)  # type: ignore[arg-type]
        return original(claim.plan[None], *args, **kwargs)

    sa.create_engine = sqlalchemy.engine.create_engine = create_engine  # type: ignore[assignment]
    try:
        yield created
    except BaseException:
        created.release()
        raise
    finally:
        sa.create_engine = sqlalchemy.engine.create_engine = original  # type: ignore[assignment]
