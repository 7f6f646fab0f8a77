"""factory_boy integration: model factories that write through the test's session.

A factory needs a session; in a Flask-SQLAlchemy app under the plugin, the
right one is always the app's ``db.session``: the session the test, its
fixtures and the app's requests share, at whatever scope the factory is
called. :class:`ModelFactory` looks it up at each ``create`` instead of being
wired to one, so no factory needs a session of its own and objects stay
attached (usable) after the fixture that made them returns.

Objects are committed, not only flushed: under the plugin a commit is a
savepoint release, rolled back with the test; rows only flushed would be
lost the moment the app under test rolls back after an error.

Install with ``pip install "flask-testbed[factories]"``.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from factory.alchemy import SQLAlchemyModelFactory
from flask import current_app
from sqlalchemy.orm import Session, scoped_session

from .integrations import INTEGRATION

try:
    from pytest_factoryboy import LazyFixture
except ImportError:  # factory_boy alone: no fixtures to register
    _FIXTURES = False
else:
    _FIXTURES = True

__all__ = ["ModelFactory", "current_session"]

ModelT = TypeVar("ModelT")


def current_session() -> Session | scoped_session[Session]:
    """The current app's ``db.session`` (a scoped session: the test's, in a test).

    Under the plugin, whatever the app uses (Flask-SQLAlchemy, -Lite, plain
    SQLAlchemy), the session the ``db_session`` fixture hands out.
    """
    try:
        extensions = current_app.extensions
    except RuntimeError:
        raise RuntimeError(
            "a ModelFactory creates objects through the app's db.session and needs an app "
            "context: call it from a test or fixture that uses the app (app, db, db_session, "
            "client, ...) or, outside pytest, inside app.app_context()"
        ) from None
    integration = extensions.get(INTEGRATION)
    if integration is not None:
        return integration.session()
    extension = extensions.get("sqlalchemy")
    if extension is None:
        raise RuntimeError(
            f"the app {current_app.name!r} has no Flask-SQLAlchemy or Flask-SQLAlchemy-Lite "
            "extension: call db.init_app(app) in the factory"
        )
    session: scoped_session[Session] = extension.session
    return session


class ModelFactory(SQLAlchemyModelFactory, Generic[ModelT]):
    """Base class for the factories of Flask-SQLAlchemy models.

    ::

        class UserFactory(ModelFactory[User]):
            class Meta:
                model = User

            email = factory.Sequence(lambda n: f"user{n}@example.com")

    ``UserFactory.create(...)`` (what ``UserFactory(...)`` does) is typed: a
    ``User`` to a type checker, where factory_boy's untyped call is not.

    With pytest-factoryboy, ``register(UserFactory)`` gives the ``user`` and
    ``user_factory`` fixtures; ``user`` depends on ``db_session``, so a test
    that asks for it alone is still a database test, isolated like any other.
    """

    class Meta:
        abstract = True
        sqlalchemy_session_factory = current_session
        sqlalchemy_session_persistence = "commit"

    if _FIXTURES:

        class Params:
            # A parameter, not a field: never passed to the model. Its only
            # effect is the dependency pytest-factoryboy derives from it.
            testbed_session: LazyFixture[scoped_session[Session]] = LazyFixture("db_session")

    # factory_boy's own methods are untyped: these only say what they return.
    @classmethod
    def create(cls, **kwargs: Any) -> ModelT:
        obj: ModelT = super().create(**kwargs)
        return obj

    @classmethod
    def build(cls, **kwargs: Any) -> ModelT:
        obj: ModelT = super().build(**kwargs)
        return obj

    @classmethod
    def create_batch(cls, size: int, **kwargs: Any) -> list[ModelT]:
        objs: list[ModelT] = super().create_batch(size, **kwargs)
        return objs

    @classmethod
    def build_batch(cls, size: int, **kwargs: Any) -> list[ModelT]:
        objs: list[ModelT] = super().build_batch(size, **kwargs)
        return objs
