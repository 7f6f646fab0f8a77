"""What the run's core needs to know about how an app uses SQLAlchemy.

An integration says where the engines, the tables and the sessions are; the
harness, the strategies and the guards do the same thing with them whichever
integration it is. Engines and tables are keyed by bind: None is the default
engine, whatever the extension calls it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine, MetaData
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from ..errors import TestbedError
from .layouts import Layout

#: the sessions an app context holds, as :meth:`Integration.take_sessions` hands them out
Held = Any


class Integration:
    """Flask-SQLAlchemy, Flask-SQLAlchemy-Lite or plain SQLAlchemy: one of the three."""

    #: what messages call it
    name = ""
    #: where the app's config keeps its URLs (None: engines the app made itself)
    layout: Layout | None = None

    def __init__(self, app: Flask) -> None:
        self.app = app

    # -- what the fixtures hand out ------------------------------------------

    @property
    def extension(self) -> Any:
        """The ``db`` fixture."""
        raise NotImplementedError

    def session(self) -> Any:
        """The ``db_session`` fixture: the test's default session (or its scoped proxy)."""
        raise NotImplementedError

    # -- engines and tables (of the current app) ----------------------------

    @property
    def engines(self) -> Mapping[str | None, Engine]:
        raise NotImplementedError

    @property
    def metadatas(self) -> Mapping[str | None, MetaData]:
        raise NotImplementedError

    def use_urls(self, plan: Mapping[str | None, URL]) -> None:
        """Engines made before the run claimed its databases: make them on the claimed URLs."""
        raise NotImplementedError

    # -- sessions -------------------------------------------------------------

    #: the Session classes whose ``get_bind`` the transaction strategy routes
    session_classes: tuple[type[Session], ...] = (Session,)

    def route_key(self, session: Session, mapper: Any, clause: Any) -> tuple[Any, ...] | None:
        """What the inherited ``get_bind``'s answer depends on, to remember it; None: ask it."""
        return None

    def is_routed_session(self, session: Session) -> bool:
        """Whether ``session`` is one of the app's own, which ``get_bind`` routes whatever its bind.

        Only where the session class says so: elsewhere a session whose bind is
        a pinned connection is a second session made on another one's connection.
        """
        return False

    def context_sessions(self) -> list[Session]:
        """The sessions the current app context has made so far (none is made here)."""
        raise NotImplementedError

    def take_sessions(self) -> Held:
        """The current app context's sessions (the default one made): to share with another."""
        raise NotImplementedError

    def held_sessions(self, held: Held) -> list[Session]:
        """The sessions in ``held``."""
        raise NotImplementedError

    def put_sessions(self, held: Held) -> None:
        """Make ``held`` the current app context's sessions too."""
        raise NotImplementedError

    def drop_sessions(self, held: Held) -> None:
        """Before the context pops: let go of ``held``, so its teardown leaves them open."""
        raise NotImplementedError

    def restore_sessions(self, held: Held) -> None:
        """After the context popped: make ``held`` the current context's again, if need be."""

    def remove_sessions(self) -> None:
        """Close the current app context's sessions, as its teardown would."""
        raise NotImplementedError

    def owns_teardown(self, func: Callable[..., Any]) -> bool:
        """Whether ``func`` is the teardown that closes the app context's sessions."""
        return False

    # -- the run ----------------------------------------------------------------

    def check_urls(self, plan: Mapping[str | None, URL]) -> None:
        """The engines exist already and the app's claim is ``plan``: refuse what is not on it."""

    def install(self) -> None:
        """Anything the integration changes for the run's length (undone by :meth:`uninstall`)."""

    def uninstall(self) -> None:
        pass


def in_app_context(app: Flask) -> bool:
    return bool(current_app) and current_app._get_current_object() is app


@contextlib.contextmanager
def app_context_of(app: Flask) -> Iterator[None]:
    """``app``'s context: the current one where it is current, else one pushed for the block.

    What the extensions' public properties (``db.engines``) need, without
    pushing a context on top of the app's own (a test's, a request's).
    """
    if in_app_context(app):
        yield
        return
    with app.app_context():
        yield


def init_again(app: Flask, extension: Any, name: str) -> None:
    """Run the extension's ``init_app`` on ``app`` again, for it to read the config anew.

    The public way to move engines made before the run claimed its databases:
    the registrations ``init_app`` repeats (its teardown, its shell context)
    are put back as they were, so that nothing runs twice.
    """
    teardowns = list(app.teardown_appcontext_funcs)
    shell = list(app.shell_context_processors)
    del app.extensions["sqlalchemy"]
    try:
        extension.init_app(app)
    except AssertionError:
        # Flask refuses setup once the app has served a request; its engines
        # are still the old ones, so the run must not go on.
        app.extensions["sqlalchemy"] = extension
        raise TestbedError(
            f"the app {app.import_name!r} served a request before the plugin could point its "
            f"{name} engines at the test databases, and Flask refuses to set it up again: "
            "build it in the factory testbed_app names or in the session-scoped app fixture "
            "itself, and send it no request before the tests do"
        ) from None
    finally:
        app.teardown_appcontext_funcs[:] = teardowns
        app.shell_context_processors[:] = shell
