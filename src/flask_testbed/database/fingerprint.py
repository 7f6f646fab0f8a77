"""A fingerprint of the schema, kept in the test database.

``--reuse-db`` compares it with the current models' to know when to rebuild.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex, CreateTable

#: the table the fingerprints are kept in
TABLE = "testbed_schema_fingerprint"

_STORE = sa.MetaData()
_FINGERPRINTS = sa.Table(
    TABLE,
    _STORE,
    # Several binds may share one database: one row each.
    sa.Column("bind", sa.String(100), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
)


def of_schema(metadata: sa.MetaData, dialect: sa.Dialect) -> str:
    """The SHA-256 of the DDL that creates ``metadata`` on ``dialect``."""
    digest = hashlib.sha256()
    for table in metadata.sorted_tables:
        digest.update(str(CreateTable(table).compile(dialect=dialect)).encode())
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            digest.update(str(CreateIndex(index).compile(dialect=dialect)).encode())
    return digest.hexdigest()


def stored(connection: sa.Connection, bind: str | None) -> str | None:
    if not sa.inspect(connection).has_table(_FINGERPRINTS.name):
        return None
    column = _FINGERPRINTS.c
    query = sa.select(column.fingerprint).where(column.bind == (bind or ""))
    return connection.execute(query).scalar()


def store(connection: sa.Connection, bind: str | None, fingerprint: str) -> None:
    _FINGERPRINTS.create(connection, checkfirst=True)
    connection.execute(_FINGERPRINTS.delete().where(_FINGERPRINTS.c.bind == (bind or "")))
    connection.execute(_FINGERPRINTS.insert(), {"bind": bind or "", "fingerprint": fingerprint})


def forget(connection: sa.Connection) -> None:
    _FINGERPRINTS.drop(connection, checkfirst=True)
