"""Apps built during the run: pointed at the run's test databases, like the configured one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from .claims import Claim, ClaimRequest, is_prepared, resolved_path, write_urls
from .database.urls import is_in_memory, masked
from .errors import TestbedError
from .integrations.layouts import FLASK_SQLALCHEMY, Layout, extensions


class LaterApps:
    """While the run lasts, every other app's ``init_app`` uses the run's test databases.

    (Flask-SQLAlchemy's and Flask-SQLAlchemy-Lite's alike.)

    A test that builds an app itself (the factory pattern, ``setUp`` in the
    Flask docs) gets the configured URLs from the app's config: without this,
    its engines would open the configured (possibly production) database. Its
    URLs are redirected exactly as the configured app's were, so its engines
    reach the same test databases, and so the same pinned connections. An app
    whose databases are not the run's is refused: nothing isolates them.
    """

    def __init__(
        self, claim: Claim, request: ClaimRequest, on_engines: Callable[[list[Any]], None]
    ) -> None:
        self.claim = claim
        self.request = request
        self.on_engines = on_engines
        #: each extension class with its own init_app, while installed
        self._originals: list[tuple[type, Any]] = []

    def install(self) -> None:
        if self._originals:
            return
        later = self

        def wrapped(original: Any, layout: Layout) -> Any:
            def init_app(self: Any, app: Flask, *args: Any, **kwargs: Any) -> None:
                if not is_prepared(app):
                    later.redirect(app, layout)
                original(self, app, *args, **kwargs)
                with app.app_context():
                    later.on_engines(list(self.engines.values()))

            return init_app

        for cls, layout in extensions():
            self._originals.append((cls, cls.init_app))
            cls.init_app = wrapped(cls.init_app, layout)

    def uninstall(self) -> None:
        for cls, original in self._originals:
            cls.init_app = original
        self._originals = []

    def redirect(self, app: Flask, layout: Layout = FLASK_SQLALCHEMY) -> None:
        plan = {
            key: resolved_path(app, url, layout)
            for key, url in self.request.urls(app.config, self.claim.slot, layout).items()
        }
        ours = set(self.claim.plan.values())
        for key, url in plan.items():
            if url not in ours and not is_in_memory(url):
                where = "its default database" if key is None else f"its bind {key!r}"
                raise TestbedError(
                    f"an app built during the run ({app.import_name!r}) would use "
                    f"{masked(url)} for {where}, which is not one of this run's test "
                    f"databases ({', '.join(sorted({masked(u) for u in ours}))}): give it "
                    "the configured app's database settings, or make it the app the "
                    "plugin builds (testbed_app)"
                )
        write_urls(app.config, plan, layout)
