"""What really committed, as a connection of its own sees it (never the test's connection)."""

import sqlalchemy as sa
from shop import db


def committed(table, bind=None):
    engine = sa.create_engine(db.engines[bind].url.render_as_string(hide_password=False))
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()
