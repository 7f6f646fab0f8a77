"""The leak check: after each test, is the database back to where it was?

What the strategies cannot see themselves: rows committed behind their back,
for instance through the driver's own ``connect()``, around SQLAlchemy. An observer
connection of its own sees only committed rows; after every test they must
be none (the run starts from an empty schema, and nothing the plugin isolates
ever commits, or it is cleaned up).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..database.backends import backend_for, qualified_name
from ..database.own_engines import keep_apart
from ..database.schema import binds


class LeakCheck:
    def __init__(self, integration: Any) -> None:
        # Per bind: the observer, a cheap "any rows at all?" query, and the
        # counting query that runs only to report a leak. (On PostgreSQL with
        # 200 empty tables, the EXISTS form costs 0.4 ms, a COUNT per table 34.)
        self._observers: list[tuple[sa.Engine, str, str]] = []
        for _key, engine, metadata in binds(integration):
            url = engine.url
            if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
                continue  # an in-memory database has no other connection to commit from
            # Its own connection, never the pinned one: it sees only what really committed.
            observer = keep_apart(sa.create_engine(url.render_as_string(hide_password=False)))
            # The same test twins of other schemas as the app's engine, never the real ones.
            mapping = engine.get_execution_options().get("schema_translate_map")
            if mapping:
                observer.update_execution_options(schema_translate_map=mapping)
            backend_for(observer).prepare_engine(observer)
            tables = [
                (table.name, qualified_name(observer, table)) for table in metadata.sorted_tables
            ]
            if not tables:
                continue
            any_rows = "SELECT " + " OR ".join(f"EXISTS (SELECT 1 FROM {q})" for _n, q in tables)
            counts = " UNION ALL ".join(f"SELECT '{n}', COUNT(*) FROM {q}" for n, q in tables)
            self._observers.append((observer, any_rows, counts))

    def leaked_rows(self) -> dict[str, int]:
        """Committed rows per table, where there are any (one round trip per clean bind)."""
        leaked: dict[str, int] = {}
        for observer, any_rows, counts in self._observers:
            with observer.connect() as connection:
                if not connection.exec_driver_sql(any_rows).scalar():
                    continue
                for table, count in connection.exec_driver_sql(counts):
                    if count:
                        leaked[table] = count
        return leaked

    def close(self) -> None:
        for observer, _any, _counts in self._observers:
            observer.dispose()

