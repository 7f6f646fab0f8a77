"""What really committed, as a connection of its own sees it (never the test's connection)."""

import sqlalchemy as sa
from shop import db

from flask_testbed.database.own_engines import keep_apart


def committed(table, bind=None):
    # Kept apart: any other engine on a test database joins the test's connection.
    engine = keep_apart(
        sa.create_engine(db.engines[bind].url.render_as_string(hide_password=False))
    )
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()
