"""App contexts as in production: one per request, one per test.

Flask reuses the app context that is already pushed when a request begins. A
test that keeps one pushed would share its ``g`` and its ``db.session`` with
every request it makes: a view that forgets to commit passes (the next request
reads the same session), ``with db.session.begin():`` in a view fails once the
test has read anything. So:

- every request (test client, live server) and every CLI command run through
  the runner starts in an empty :class:`contextvars.Context`, where Flask pushes
  an app context of its own, exactly as a server thread would. Its session
  joins the test's sandbox through the pinned connection like any other, and is
  removed at the request's end: what it did not commit is rolled back, as in
  production, and named (:mod:`.unsaved`);
- each database test runs in an app context of its own, pushed on top of the
  run's (where session-, module- and class-scoped fixtures live), so its ``g``
  and its session are its own;
- after each request, the objects the test side holds are expired, so they
  show what the request committed on their next access.
"""

from __future__ import annotations

import contextvars
import shlex
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app
from flask.ctx import AppContext
from flask.globals import app_ctx, request_ctx
from flask.testing import FlaskCliRunner
from sqlalchemy.orm import Session

from . import unsaved

if TYPE_CHECKING:
    from .isolation.base import Isolation


class Contexts:
    """Installs the per-request contexts on one app, and pushes each test's."""

    def __init__(
        self,
        app: Flask,
        integration: Any,
        mode: str = "warn",
        sandbox: Callable[[], Isolation | None] = lambda: None,
    ) -> None:
        self.app = app
        self.integration = integration
        #: the isolation strategy in force, asked about commits and failures
        self.sandbox = sandbox
        self.watch = unsaved.Watch(app, integration, mode)
        self._wsgi_app: Any = None
        self._runner_class: Any = None
        #: the test's app context and the session of the context below it, while a test runs
        self._test: AppContext | None = None
        self._base: Any = None
        self._below: Any = None
        #: the thread the test runs in: only its requests touch the test's sessions
        self._thread = threading.get_ident()

    def install(self) -> None:
        app = self.app
        self._wsgi_app = app.wsgi_app
        app.wsgi_app = _RequestsInOwnContext(self._wsgi_app, self)
        self._runner_class = app.test_cli_runner_class
        app.test_cli_runner_class = _runner_for(self._runner_class or FlaskCliRunner, self)
        self.watch.install()

    def uninstall(self) -> None:
        if self._wsgi_app is None:
            return
        self.app.wsgi_app = self._wsgi_app
        self.app.test_cli_runner_class = self._runner_class
        self._wsgi_app = None
        self.watch.uninstall()

    # -- the test's own context -------------------------------------------

    def push_test(self) -> None:
        """Give the test an app context of its own, above the run's, sharing the run's session.

        The test's ``g`` is its own; its ``db.session`` is the one session-,
        module- and class-scoped fixtures used, so the objects they hand out
        can be added to, deleted from or related to in the test's session, as
        before. Requests, not tests, are what get a session of their own.
        """
        self._thread = threading.get_ident()
        integration = self.integration
        self._base = integration.take_sessions() if self._in_app_context() else None
        self._below = request_ctx._get_current_object() if request_ctx else None
        self._test = self.app.app_context()
        self._test.push()
        if self._base is not None:
            integration.put_sessions(self._base)

    def pop_test(self) -> None:
        """Pop the test's app context (and whatever the test left pushed above it)."""
        context, self._test = self._test, None
        if context is None:
            return
        # The sessions are the run's: the test context's teardown must not close them.
        base, self._base = self._base, None
        keep = None if base is None else (lambda: self.integration.drop_sessions(base))
        pop_to(context, self._below, before=keep)
        if base is not None:
            self.integration.restore_sessions(base)
            for session in self.integration.held_sessions(base):
                # Rows the test changed are back as they were: reload on next access.
                session.expire_all()

    # -- around each request ------------------------------------------------

    def before_request(self) -> _Before | None:
        """End the test side's read-only transactions before a request.

        As another connection would: the request's commit then does not sit
        inside a savepoint the test could still roll back, and on backends
        where a reading transaction keeps its snapshot (SQLite, MariaDB under
        ``truncate``) the test's next read sees what the request committed.
        Sessions with changes of their own are left as they are. Returns what
        :meth:`after_request` needs; None for a server thread's request (the
        test's sessions are the test's to use).
        """
        if threading.get_ident() != self._thread:
            return None
        sessions = self._test_sessions()
        for session in sessions:
            _end_if_clean(session, self._failed)
        return sessions, self._commits()

    def after_request(self, before: _Before | None) -> None:
        """Let the test side see what the request committed: expire what it holds.

        A request that committed nothing (a GET, as a rule) changed nothing the
        test holds: its objects keep their loaded state.
        """
        if before is None:
            return
        sessions, commits = before
        if commits is not None and self._commits() == commits:
            return
        for session in sessions:
            _expire_clean(session)

    def _commits(self) -> int | None:
        """Commits inside the sandbox so far (the strategy's count); None: unknown."""
        sandbox = self.sandbox()
        return sandbox.commits() if sandbox is not None else None

    def _failed(self) -> bool:
        """Whether a failed statement left the test's transaction unusable (PostgreSQL)."""
        sandbox = self.sandbox()
        return sandbox is not None and sandbox.transaction_failed()

    def _test_sessions(self) -> tuple[Session, ...]:
        current = self.integration.context_sessions() if self._in_app_context() else []
        base = self.integration.held_sessions(self._base) if self._base is not None else []
        return tuple(dict.fromkeys([*current, *base]))

    def _in_app_context(self) -> bool:
        return bool(current_app) and current_app._get_current_object() is self.app


#: the test side's sessions before a request, and the sandbox's commits then
_Before = tuple[tuple[Session, ...], int | None]


class _RequestsInOwnContext:
    """WSGI middleware: each request runs where no app context is pushed yet."""

    def __init__(self, wsgi_app: Any, contexts: Contexts) -> None:
        self.wsgi_app = wsgi_app
        self.contexts = contexts

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        context = contextvars.Context()
        what = f"{environ.get('REQUEST_METHOD', 'GET')} {environ.get('PATH_INFO', '/')}"
        contexts = self.contexts
        before = contexts.before_request()
        try:
            body = context.run(contexts.watch.run, what, self.wsgi_app, environ, start_response)
        finally:
            contexts.after_request(before)
        if isinstance(body, list | tuple):
            return body
        # A streamed body runs its generator on iteration: in the request's
        # context too, or stream_with_context would push the test's.
        return _InContext(context, body)


class _InContext:
    """An iterable whose every step runs in ``context``."""

    def __init__(self, context: contextvars.Context, body: Iterable[bytes]) -> None:
        self._context = context
        self._body = body
        self._iterator: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._iterator is None:
            self._iterator = self._context.run(iter, self._body)
        return self._context.run(next, self._iterator)

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            self._context.run(close)


def _runner_for(base: type[FlaskCliRunner], contexts: Contexts) -> type[FlaskCliRunner]:
    """The app's CLI runner class, whose commands run in an app context of their own."""

    def invoke(self: FlaskCliRunner, cli: Any = None, args: Any = None, **kwargs: Any) -> Any:
        words = args if isinstance(args, list | tuple) else shlex.split(args or "")
        what = "flask " + " ".join(str(word) for word in words)
        context = contextvars.Context()
        before = contexts.before_request()
        try:
            return context.run(
                contexts.watch.run, what, base.invoke, self, cli, args, **kwargs
            )
        finally:
            contexts.after_request(before)

    return type(base.__name__, (base,), {"invoke": invoke, "__doc__": base.__doc__})


def pop_to(
    context: AppContext, below: Any = None, before: Callable[[], None] | None = None
) -> None:
    """Pop ``context``, first popping what a test pushed above it and left there.

    ``below`` is the request context that was current when ``context`` was
    pushed (pytest-flask keeps one per test): it is not the test's to pop.
    ``before`` runs just before ``context`` itself is popped.
    """
    for _ in range(100):  # a bound, should a context refuse to leave
        if not app_ctx:
            return  # popped already
        if request_ctx and request_ctx._get_current_object() is not below:
            request_ctx._get_current_object().pop()
            continue
        top = app_ctx._get_current_object()
        if top is context and before is not None:
            before()
        top.pop()
        if top is context:
            return


def _end_if_clean(session: Session | None, failed: Callable[[], bool]) -> None:
    if session is None or not session.in_transaction():
        return
    if session.new or session.deleted or unsaved.flushed(session):
        return
    if any(session.is_modified(instance) for instance in session.dirty):
        return
    transaction = session.get_transaction()
    if transaction is None or not transaction.is_active:
        return
    if failed():
        # A statement of the test failed, and the transaction can go on only
        # once rolled back to before it (PostgreSQL): the request, on a
        # connection of its own in production, must not inherit that. The
        # session has nothing to keep, and could not commit anyway.
        session.rollback()
        return
    session.commit()


def _expire_clean(session: Session | None) -> None:
    """Expire the session's objects, keeping attribute changes it has not flushed yet."""
    if session is None:
        return
    dirty = session.dirty
    if not dirty:
        session.expire_all()
        return
    for instance in list(session.identity_map.values()):
        if instance not in dirty:
            session.expire(instance)
