"""Building the schema by running the app's migrations (Flask-Migrate / Alembic) to head.

With ``testbed_schema = migrations`` the tests exercise the real migration
path, once per run (or once per change of head with ``--reuse-db``), instead
of ``create_all``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from ..errors import TestbedError


def _migrate(app: Flask) -> Any:
    migrate = app.extensions.get("migrate")
    if migrate is None:
        raise TestbedError(
            "testbed_schema = migrations needs Flask-Migrate on the app: "
            "Migrate(app, db) in the factory, or testbed_schema = create_all"
        )
    return migrate


def _config(app: Flask) -> Any:
    migrate = _migrate(app)
    return migrate.migrate.get_config(migrate.directory)


def head(app: Flask) -> str:
    """The head revision(s): the schema's fingerprint under migrations."""
    from alembic.script import ScriptDirectory

    return ",".join(sorted(ScriptDirectory.from_config(_config(app)).get_heads()))


def upgrade(app: Flask) -> None:
    """Run every migration to head; a failure names the revision that failed."""
    from alembic import command
    from alembic.script import ScriptDirectory

    config = _config(app)
    script = ScriptDirectory.from_config(config)
    order = [revision.revision for revision in reversed(list(script.walk_revisions()))]
    applied: list[str] = []

    def record(*, step: Any, **_: Any) -> None:
        applied.extend(step.up_revision_ids)

    arguments = _migrate(app).configure_args
    arguments["on_version_apply"] = record
    try:
        command.upgrade(config, "head")
    except Exception as exc:
        pending = [revision for revision in order if revision not in applied]
        failed = pending[0] if pending else "head"
        message = " ".join(str(getattr(exc, "orig", None) or exc).split())[:200]
        raise TestbedError(
            f"migration {failed} failed ({type(exc).__name__}: {message}); "
            f"fix it in {_migrate(app).directory}/versions, or use testbed_schema = create_all"
        ) from None
    finally:
        arguments.pop("on_version_apply", None)
