"""Work a request left uncommitted: discarded as in production, and named.

A view that adds a row and forgets ``db.session.commit()`` works in a test
that shares one session with its requests, and loses the row in production.
With a session per request the row is discarded in tests too; this module
says so at the request's end, naming the request and the models, so the bug
is found where it is, not three requests later.
"""

from __future__ import annotations

import contextvars
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

MODES = ("warn", "error", "ignore")
#: where a session keeps the writes it flushed in its current transaction
_FLUSHED = "testbed_flushed"


class UncommittedChangesWarning(UserWarning):
    """A request ended with changes its session never committed."""


class UncommittedChangesError(AssertionError):
    """A request ended with uncommitted changes, and ``testbed_uncommitted = error``."""


class _Request:
    """The request or command that runs in the current context, and what it left."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.problems: list[str] = []


_CURRENT: contextvars.ContextVar[_Request] = contextvars.ContextVar("testbed_request")


class Watch:
    """Looks at each request's sessions just before the extension closes them."""

    def __init__(self, app: Flask, integration: Any, mode: str) -> None:
        self.app = app
        self.integration = integration
        self.mode = mode
        self._installed = False

    def install(self) -> None:
        if self.mode == "ignore" or self._installed:
            return
        funcs = self.app.teardown_appcontext_funcs
        # Flask runs these newest first: placed right after the extension's own,
        # the check runs last before the session is removed, after the app's
        # own teardowns (which may still commit).
        position = next(
            (i + 1 for i, func in enumerate(funcs) if self.integration.owns_teardown(func)),
            len(funcs),
        )
        funcs.insert(position, self._check)
        event.listen(Session, "after_flush", _record_flush)
        event.listen(Session, "do_orm_execute", _record_statement)
        event.listen(Session, "after_transaction_end", _forget_flushes)
        self._installed = True

    def uninstall(self) -> None:
        if not self._installed:
            return
        funcs = self.app.teardown_appcontext_funcs
        if self._check in funcs:
            funcs.remove(self._check)
        event.remove(Session, "after_flush", _record_flush)
        event.remove(Session, "do_orm_execute", _record_statement)
        event.remove(Session, "after_transaction_end", _forget_flushes)
        self._installed = False

    def run(self, what: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a request or command (in its own contextvars context); raise what it left."""
        request = _Request(what)
        _CURRENT.set(request)
        result = function(*args, **kwargs)
        if request.problems and self.mode == "error":
            raise UncommittedChangesError("; ".join(request.problems))
        return result

    def _check(self, error: BaseException | None) -> None:
        request = _CURRENT.get(None)
        if request is None or error is not None:
            return  # not a request of ours, or one that failed: its rollback is expected
        changes = "; ".join(
            filter(None, (_left_in(session) for session in self.integration.context_sessions()))
        )
        if not changes:
            return
        message = (
            f"{request.what} ended with uncommitted changes ({changes}): they were "
            "discarded, as in production (commit them, or set testbed_uncommitted = ignore)"
        )
        if self.mode == "error":
            request.problems.append(message)
        else:
            warnings.warn(message, UncommittedChangesWarning, stacklevel=2)


def _left_in(session: Session) -> str:
    if not (session.info.get(_FLUSHED) or session.new or session.deleted or session.dirty):
        return ""  # the common case, checked without counting
    return uncommitted_changes(session)


def uncommitted_changes(session: Session) -> str:
    """What the session holds that no commit saved: ``"Item: 1 new; Tag: 2 changed"``."""
    counts: Counter[tuple[str, str]] = Counter(session.info.get(_FLUSHED, ()))
    counts.update(_changes(session))
    by_model: dict[str, list[str]] = {}
    for (model, kind), count in sorted(counts.items()):
        by_model.setdefault(model, []).append(f"{count} {kind}")
    return "; ".join(f"{model}: {', '.join(kinds)}" for model, kinds in by_model.items())


def flushed(session: Session) -> bool:
    """Whether the session flushed changes in its current transaction."""
    return bool(session.info.get(_FLUSHED))


def _record_flush(session: Session, _flush_context: Any) -> None:
    flushed = session.info.get(_FLUSHED)
    if flushed is None:
        flushed = session.info[_FLUSHED] = Counter()
    flushed.update(_changes(session))


_DML = ("insert", "update", "delete", "replace", "merge")


def _record_statement(state: Any) -> None:
    """A write through ``session.execute()`` (ORM bulk DML or SQL text) is uncommitted work too."""
    if state.is_select:
        return
    if state.is_insert or state.is_update or state.is_delete:
        mapper = state.bind_mapper
        what = (mapper.class_.__name__ if mapper is not None else "SQL", "written")
    else:
        text = str(getattr(state.statement, "text", "")).lstrip()[:8].lower()
        if not text.startswith(_DML):
            return
        what = ("SQL", "written")
    session = state.session
    flushed = session.info.get(_FLUSHED)
    if flushed is None:
        flushed = session.info[_FLUSHED] = Counter()
    flushed[what] += 1


def _changes(session: Session) -> Iterator[tuple[str, str]]:
    """(model, kind) for each object the session would write: new, changed, deleted."""
    for instance in session.new:
        yield type(instance).__name__, "new"
    for instance in session.dirty:
        if session.is_modified(instance):
            yield type(instance).__name__, "changed"
    for instance in session.deleted:
        yield type(instance).__name__, "deleted"


def _forget_flushes(session: Session, transaction: Any) -> None:
    # The session's own transaction ended (committed or rolled back): its
    # flushes are saved or gone. A savepoint's end changes neither.
    if transaction.parent is None:
        session.info.pop(_FLUSHED, None)
