"""Building the schema by running the app's migrations (Flask-Migrate / Alembic) to head.

With ``testbed_schema = migrations`` the tests exercise the real migration
path, once per run (or once per change of head with ``--reuse-db``), instead
of ``create_all``.

Where the migrations are is a :class:`MigrationSource`: the app's Flask-Migrate
when it has one, else the project's own Alembic configuration (an
``alembic.ini`` and its ``env.py``). :func:`source_for` is the one place that
chooses; running them to head is the same for both.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Flask
from sqlalchemy import Engine

from ..errors import TestbedError
from .urls import is_in_memory, masked


class MigrationSource:
    """Where the migrations are: an Alembic configuration, and how to run it to head.

    Whatever ``env.py`` does, the migrations run only where it configures a
    connection (or URL) to one of ``test_databases``, the run's claimed ones.
    """

    def __init__(self, test_databases: Iterable[Any]) -> None:
        self.test_databases = list(test_databases)

    def config(self) -> Any:
        """The ``alembic.config.Config`` to run."""
        raise NotImplementedError

    def versions(self) -> str:
        """The versions folder a failure names."""
        raise NotImplementedError

    def connect(self) -> contextlib.AbstractContextManager[None]:
        """What the run's ``env.py`` needs around the upgrade."""
        return contextlib.nullcontext()

    def head(self) -> str:
        """The head revision(s): the schema's fingerprint under migrations."""
        from alembic.script import ScriptDirectory

        return ",".join(sorted(ScriptDirectory.from_config(self.config()).get_heads()))

    def upgrade(self) -> None:
        """Run every migration to head; a failure names the revision that failed."""
        from alembic import command
        from alembic.runtime.environment import EnvironmentContext
        from alembic.script import ScriptDirectory

        config = self.config()
        script = ScriptDirectory.from_config(config)
        order = [revision.revision for revision in reversed(list(script.walk_revisions()))]
        applied: list[str] = []

        def record(*, step: Any, **_: Any) -> None:
            applied.extend(step.up_revision_ids)

        configure = EnvironmentContext.configure
        check = self._check_target

        # ``alembic upgrade head``, told each revision as it is applied: whatever
        # ``env.py`` gives ``configure``, the run's check and callback are added
        # (for this upgrade only: the public method is put back after it).
        def recording(
            environment: Any, *args: Any, on_version_apply: Any = None, **kwargs: Any
        ) -> None:
            check(kwargs.get("connection"), kwargs.get("url"))
            callbacks: Iterable[Any] = (
                () if on_version_apply is None
                else on_version_apply if isinstance(on_version_apply, (list, tuple))
                else (on_version_apply,)
            )
            configure(environment, *args, on_version_apply=[*callbacks, record], **kwargs)

        EnvironmentContext.configure = recording  # type: ignore[method-assign]
        try:
            with self.connect():
                command.upgrade(config, "head")
        except TestbedError:
            raise
        except Exception as exc:
            pending = [revision for revision in order if revision not in applied]
            failed = pending[0] if pending else "head"
            message = " ".join(str(getattr(exc, "orig", None) or exc).split())[:200]
            raise TestbedError(
                f"migration {failed} failed ({type(exc).__name__}: {message}); "
                f"fix it in {self.versions()}, or use testbed_schema = create_all"
            ) from None
        finally:
            EnvironmentContext.configure = configure  # type: ignore[method-assign]

    def _check_target(self, connection: Any, url: Any) -> None:
        """Refuse, before the first migration, a database that is not one of the run's."""
        from sqlalchemy import make_url

        if connection is not None:
            target = getattr(connection, "engine", connection).url
        elif url is not None:
            target = make_url(url)
        else:
            return  # offline (--sql) mode: nothing is connected
        if not self.is_test_database(target):
            raise TestbedError(
                f"refusing to run migrations on {masked(target)}: env.py connected to a "
                "database that is not one of this run's test databases; let env.py use the "
                "sqlalchemy.url the run sets, or config.attributes['connection']"
            )

    def is_test_database(self, url: Any) -> bool:
        return any(_same_database(url, claimed) for claimed in self.test_databases)


class FlaskMigrate(MigrationSource):
    """The app's Flask-Migrate: its ``env.py`` reaches the app's (test) engine itself."""

    def __init__(self, migrate: Any, test_databases: Iterable[Any]) -> None:
        super().__init__(test_databases)
        self.migrate = migrate

    def config(self) -> Any:
        return self.migrate.migrate.get_config(self.migrate.directory)

    def versions(self) -> str:
        return f"{self.migrate.directory}/versions"


class Alembic(MigrationSource):
    """The project's ``alembic.ini``, pointed at the run's test database.

    ``sqlalchemy.url`` is the default engine's test URL (an ``env.py`` of the
    default template makes its engine from it), and the engine's connection is
    in ``config.attributes["connection"]`` (an ``env.py`` of the cookbook's
    "sharing a connection" recipe uses it).
    """

    def __init__(self, path: str, engine: Engine, test_databases: Iterable[Any]) -> None:
        super().__init__(test_databases)
        self.path = path
        self.engine = engine
        self._config: Any = None
        self._connection: Any = None

    def config(self) -> Any:
        if self._config is None:
            self._config = self._load()
        if self._connection is not None:
            self._config.attributes["connection"] = self._connection
        return self._config

    def _load(self) -> Any:
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        if not os.path.isfile(self.path):
            raise TestbedError(
                f"testbed_schema = migrations: there is no alembic.ini at {self.path}; "
                "point testbed_alembic_ini at the project's alembic.ini, "
                "or use testbed_schema = create_all"
            )
        url = self.engine.url
        if not self.is_test_database(url):
            raise TestbedError(
                f"refusing to run migrations on {masked(url)}: the default engine is not on "
                "one of this run's test databases; point the app's default engine at its "
                "test database"
            )
        try:
            config = Config(self.path)
            # The ini's own % are interpolation; the URL's (percent-encoded) are not.
            config.set_main_option(
                "sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%")
            )
            ScriptDirectory.from_config(config)
        except Exception as exc:
            reason = " ".join(str(exc).split())[:200]
            raise TestbedError(
                f"testbed_schema = migrations cannot read the Alembic configuration "
                f"{self.path} ({type(exc).__name__}: {reason}); fix it (it needs a "
                "script_location), or point testbed_alembic_ini at the project's alembic.ini"
            ) from None
        return config

    def _check_target(self, connection: Any, url: Any) -> None:
        super()._check_target(connection, url)
        if is_in_memory(self.engine.url) and connection is not self._connection:
            raise TestbedError(
                "refusing to run migrations on a new in-memory SQLite database: the test "
                "database lives in the default engine's one connection; let env.py use "
                "config.attributes['connection'], or give the app a database file"
            )

    def versions(self) -> str:
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self.config()).versions

    @contextlib.contextmanager
    def connect(self) -> Iterator[None]:
        """The default engine's connection, in ``config.attributes`` for the upgrade's length."""
        with self.engine.connect() as connection:
            self._connection = connection
            self.config()  # the connection in config.attributes, for env.py
            try:
                yield
                if connection.in_transaction():
                    connection.commit()
            finally:
                self._connection = None
                if self._config is not None:
                    self._config.attributes.pop("connection", None)


def source_for(app: Flask, engine: Engine | None, alembic_ini: str | None,
               test_databases: Iterable[Any]) -> MigrationSource:
    """The app's Flask-Migrate if it has one, else the project's Alembic configuration."""
    migrate = app.extensions.get("migrate")
    if migrate is not None:
        return FlaskMigrate(migrate, test_databases)
    if alembic_ini is None or engine is None:
        raise TestbedError(
            "testbed_schema = migrations needs Flask-Migrate on the app or an alembic.ini: "
            "Migrate(app, db) in the factory, testbed_alembic_ini = path/to/alembic.ini, "
            "or testbed_schema = create_all"
        )
    return Alembic(alembic_ini, engine, test_databases)


def _same_database(a: Any, b: Any) -> bool:
    # The engine's URL carries the driver options an extension adds (charset).
    return a.set(query={}) == b.set(query={})
