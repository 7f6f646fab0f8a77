"""What in a test database the run did not make, and so never drops.

A test database can hold more than the models' tables. What a user made there
before the run (a lookup table, a reporting view) must outlive the run. What
the tests made must not: under ``truncate`` and ``recreate`` a ``CREATE``
really commits (on MariaDB/MySQL DDL commits even under ``transaction``), and
a leftover poisons later runs: a table stays forever, and on PostgreSQL a view
on a model table blocks the drop of that table at the end of this run and at
the start of every later one.

Only the run can tell the two apart, and only by looking before it builds the
schema: it takes an inventory of each database then, the tables and views in
the schemas the models use other than the models' and the plugin's own. Those
are never dropped; whatever else is there when the schema is dropped is the
run's. A database the run created holds nothing of anyone else's: its
inventory is empty.

What the schema build itself makes beside the models' tables (a view that a
migration or a DDL event creates) belongs to the schema: kept with it under
``--reuse-db``, dropped with it otherwise. Its names are written down in the
database, so that the next run does not take them for a user's.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, MetaData
from sqlalchemy.engine import URL

from ..errors import TestbedError
from . import fingerprint, ownership
from .backends import Blocker, Relation, backend_for
from .naming import is_in_memory
from .urls import masked

#: Alembic's own table: dropped with the schema so that migrations start from base
MIGRATION_VERSIONS = "alembic_version"

_RECORD = sa.Table(
    "testbed_schema_objects",
    sa.MetaData(),
    sa.Column("object_schema", sa.String(128), primary_key=True),
    sa.Column("object_name", sa.String(128), primary_key=True),
)

#: The plugin's own tables, each made and dropped by its name. Exact names, not
#: a prefix: a user's table called testbed_something is a user's table like any other.
PLUGIN_TABLES = frozenset(
    {MIGRATION_VERSIONS, fingerprint.TABLE, _RECORD.name, ownership.MARK}
)

#: (schema, name): how the inventory knows a table or view
Name = tuple[str, str]


class DropBlocked(TestbedError):
    """A model table cannot be dropped: an object the run did not make depends on it."""

    def __init__(self, message: str, url: URL) -> None:
        super().__init__(message)
        self.url = url


@dataclass(eq=False)
class Database:
    """One database the app's binds use, and what in it is whose."""

    engine: Engine
    #: the schemas the models use, the default one first
    schemas: tuple[str, ...]
    #: the models' tables, of every bind: two URLs written differently can name one database
    models: frozenset[Name]
    #: what was there before the run: never dropped
    kept: frozenset[Name] = frozenset()
    #: what the schema build made beside the models' tables: it goes with the schema
    built: frozenset[Name] = frozenset()

    def drop_made(self, connection: Connection, keep_built: bool = False) -> None:
        """Drop the tables and views the run made: one query, and a drop only if any.

        With ``keep_built`` what the schema build made stays, as the models' tables do.
        """
        spared = self.kept | self.models | (self.built if keep_built else frozenset())
        made = [
            relation
            for relation in self._present(connection)
            if (relation.schema, relation.name) not in spared
            and relation.name not in PLUGIN_TABLES
        ]
        if made:
            backend = backend_for(connection)
            # A model table may hold a foreign key to a table a test made.
            with backend.foreign_keys_off(connection):
                backend.drop_relations(connection, made)

    def note_built(self, connection: Connection) -> None:
        """Right after the schema build: write down what it made beside the models' tables."""
        present = _names(self._present(connection))
        self.built = frozenset(
            name for name in present if name[1] not in PLUGIN_TABLES
        ) - self.kept - self.models
        if (self.schemas[0], _RECORD.name) in present:
            _RECORD.drop(connection)
        if self.built:
            _RECORD.create(connection)
            connection.execute(
                _RECORD.insert(),
                [{"object_schema": schema, "object_name": name} for schema, name in self.built],
            )

    def forget_built(self, connection: Connection) -> None:
        """The schema is gone: so is the record of what its build made."""
        if self.built:
            _RECORD.drop(connection, checkfirst=True)
            self.built = frozenset()

    def blocked(self, error: BaseException) -> DropBlocked:
        """The one line for a drop of the models' tables that ``error`` says was blocked."""
        with self.engine.connect() as connection:
            blockers = backend_for(connection).blockers(connection, sorted(self.models))
        if not blockers:
            return _unexplained(self.engine, error)
        return DropBlocked(_blocked_message(blockers, self.kept, self.engine.url), self.engine.url)

    def _present(self, connection: Connection) -> list[Relation]:
        return backend_for(connection).list_relations(connection, self.schemas)


class Inventory:
    """The databases of one run, each with what in it the run must leave alone."""

    def __init__(self, databases: Iterable[Database] = ()) -> None:
        self._databases = {database_key(database.engine): database for database in databases}

    @classmethod
    def take(
        cls,
        binds: Iterable[tuple[str | None, Engine, MetaData]],
        owned: Callable[[URL], bool],
    ) -> Inventory:
        """Look at each database before the schema is built: one query each.

        ``binds`` are the app's (bind key, engine, metadata); binds that share a
        database share its entry. ``owned`` says whether the run created a database.
        """
        tables: dict[Hashable, tuple[Engine, list[sa.Table]]] = {}
        for _key, engine, metadata in binds:
            tables.setdefault(database_key(engine), (engine, []))[1].extend(
                metadata.tables.values()
            )
        every = [table for _engine, found in tables.values() for table in found]
        return cls(
            take(engine, found, every, owned(engine.url)) for engine, found in tables.values()
        )

    def database(self, engine: Engine) -> Database | None:
        return self._databases.get(database_key(engine))

    def blocked(self, engine: Engine, error: BaseException) -> DropBlocked:
        database = self.database(engine)
        return database.blocked(error) if database is not None else _unexplained(engine, error)

    def __iter__(self) -> Iterator[Database]:
        return iter(self._databases.values())


def take(
    engine: Engine, tables: Sequence[sa.Table], every: Sequence[sa.Table], owned: bool
) -> Database:
    """What ``engine``'s database holds now beside the models' tables.

    ``tables`` are the ones of the binds on this database, ``every`` those of
    all binds. Everything in a database the run created (``owned``) is the run's.
    """
    with engine.connect() as connection:
        default = connection.dialect.default_schema_name
        # Where each table really is: a schema the run maps to a test twin is the twin.
        mapping = connection.get_execution_options().get("schema_translate_map") or {}

        def where(table: sa.Table) -> str:
            schema = mapping.get(table.schema, table.schema)
            return schema or default

        schemas = tuple(dict.fromkeys([default, *(where(t) for t in tables)]))
        models = frozenset((where(table), table.name) for table in every)
        database = Database(engine, schemas, models)
        present = _names(database._present(connection))
        if (default, _RECORD.name) in present:
            # What the schema build made belongs to the schema, in a database of
            # the run's own too: --reuse-db keeps it with the models' tables.
            database.built = frozenset(
                (schema, name)
                for schema, name in connection.execute(
                    sa.select(_RECORD.c.object_schema, _RECORD.c.object_name)
                )
            )
        if owned:
            return database
        database.kept = frozenset(
            name for name in present if name[1] not in PLUGIN_TABLES
        ) - models - database.built
    return database


def database_key(engine: Engine) -> Hashable:
    """What tells databases apart: the URL, but every in-memory SQLite engine is its own."""
    return engine if is_in_memory(engine.url) else engine.url


def _names(relations: Iterable[Relation]) -> frozenset[Name]:
    return frozenset((relation.schema, relation.name) for relation in relations)


def _blocked_message(blockers: Sequence[Blocker], kept: frozenset[Name], url: URL) -> str:
    objects = list(dict.fromkeys(blocker.description for blocker in blockers))
    tables = list(dict.fromkeys(blocker.table for blocker in blockers))
    one = len(objects) == 1
    it = "it" if one else "them"
    if all(b.relation is not None and b.relation[:2] in kept for b in blockers):
        why = f"this run did not create {it}, so it leaves {it} alone"
    else:
        # A function, or a view in a schema no model uses: the run cannot tell
        # who made it, and leaves alone what it cannot tell is its own.
        what = "it is not a table or view" if one else "they are not tables or views"
        why = f"{what} this run made in the models' schemas, so the run leaves {it} alone"
    statements = [blocker.statement for blocker in blockers]
    fix = f"drop {it} ({'; '.join(dict.fromkeys(statements))})" if all(statements) else f"drop {it}"
    return (
        f"{', '.join(objects)} {'blocks' if one else 'block'} the drop of "
        f"{'table' if len(tables) == 1 else 'tables'} {', '.join(tables)} in {masked(url)}: "
        f"{why}; {fix}, or point the app at a database of its own (--testbed-db-url)"
    )


def _unexplained(engine: Engine, error: BaseException) -> DropBlocked:
    detail = " ".join(str(getattr(error, "orig", None) or error).split())
    return DropBlocked(
        f"the drop of the models' tables in {masked(engine.url)} is blocked ({detail}); "
        "this run leaves alone what it did not create: drop what depends on them, "
        "or point the app at a database of its own (--testbed-db-url)",
        engine.url,
    )
