"""The synthetic project every approach runs: an app with T tables and a suite of N tests.

The app is generated as plain source (not built with ``type()`` at import
time) so that a run can be inspected, and rerun by hand, from its directory.
Tables come in foreign-key chains of :data:`CHAIN` (each table but the first
of a chain references the one before it), with an index on every foreign key
and a composite one besides, so that creating and dropping them costs what a
real schema of that size costs.

Every test does the same work whatever T is: three inserts through factories
(one chain: grandparent, parent, leaf) and a commit (each request has a session
of its own: it sees what the test committed), one request that updates the leaf
and commits, and one query. Test ``i`` uses chain ``i % (T / CHAIN)``, so a larger
schema spreads the writes without adding any.

With ``requests`` R > 1 each test makes R requests instead of one, taking turns:
a POST that updates the leaf and commits, a GET that reads it back (and checks
that it sees every commit before it), a POST... The difference between two
values of R, divided by their difference, is what one request costs: the part
of a plugin's price that grows with the requests a test makes, not with tests.

The views load their row with ``db.session.get``, as most apps do. A session
that outlives a request (the plugin before requests had sessions of their own)
answers that from its identity map without any SQL, so against it a request
of the plugin now also pays for the SELECT its view makes in production.
``loads="query"`` has the views load the row with a SELECT that runs whatever
the session holds: every revision then runs the same SQL, and the difference
per request is the price of the request's own app context and session alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: tables per foreign-key chain; T must be a multiple of it
CHAIN = 5
#: tests per generated module (a real suite has many modules, not one)
MODULE_SIZE = 25
#: the tables a test writes to, counted from the first table of its chain
TOUCHED = 3
#: how the views load their row (see the module's docstring), by ``loads`` value
LOADS = {
    "get": "db.session.get(MODELS[table], row_id)",
    "query": "db.session.execute(select(MODELS[table]).filter_by(id=row_id)).scalar_one()",
}

APP_HEADER = '''\
"""Synthetic app of the isolation benchmark: {tables} tables in foreign-key chains of {chain}."""

import os

from flask import Flask, jsonify
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

db = SQLAlchemy()
'''

#: the same app on Flask-SQLAlchemy-Lite: the models on a DeclarativeBase of their own
LITE_HEADER = '''\
"""Synthetic app of the isolation benchmark (Flask-SQLAlchemy-Lite): {tables} tables in
foreign-key chains of {chain}."""

import os

from flask import Flask, jsonify
from flask_sqlalchemy_lite import SQLAlchemy
from sqlalchemy import ForeignKey, Index, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


db = SQLAlchemy()
'''

ROOT_MODEL = '''

class T{i:03d}(db.Model):
    __tablename__ = "bench_t{i:03d}"
    __table_args__ = (Index("ix_bench_t{i:03d}_name_value", "name", "value"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    value: Mapped[int] = mapped_column(default=0)
'''

CHILD_MODEL = ROOT_MODEL + '''\
    parent_id: Mapped[int] = mapped_column(ForeignKey("bench_t{parent:03d}.id"), index=True)
    parent: Mapped[T{parent:03d}] = relationship()
'''

APP_FOOTER = '''

MODELS = [{models}]


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("BENCH_DATABASE_URL", "sqlite://")
    db.init_app(app)

    @app.post("/touch/<int:table>/<int:row_id>")
    def touch(table, row_id):
        row = {load}
        row.value += 1
        db.session.commit()
        return jsonify(id=row.id, value=row.value)

    @app.get("/read/<int:table>/<int:row_id>")
    def read(table, row_id):
        row = {load}
        return jsonify(id=row.id, value=row.value)

    return app
'''

FACTORIES = '''\
"""Factories of the synthetic app, one per table; a leaf's factory builds its chain.

Plain factory_boy for the hand-written approaches. With BENCH_FACTORY=testbed
(the plugin's runs) the base is the plugin's own factory class when
flask_testbed.factories provides one, so its cost is measured too.
"""

import os

import factory
from factory.alchemy import SQLAlchemyModelFactory

from benchapp import MODELS, db


class PlainFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731 - db.session may be replaced
        sqlalchemy_session_persistence = "flush"


def _base():
    if os.environ.get("BENCH_FACTORY") != "testbed":
        return PlainFactory
    try:
        from flask_testbed import factories
    except ImportError:
        return PlainFactory
    for name in getattr(factories, "__all__", dir(factories)):
        candidate = getattr(factories, name, None)
        if (
            isinstance(candidate, type)
            and issubclass(candidate, SQLAlchemyModelFactory)
            and candidate._meta.abstract
        ):
            return candidate
    return PlainFactory


BASE = _base()
BASE_NAME = f"{BASE.__module__}.{BASE.__qualname__}"
FACTORIES = []
for _model in MODELS:
    _attrs = {
        "Meta": type("Meta", (), {"model": _model, "sqlalchemy_session_persistence": "flush"}),
        "name": factory.Sequence(lambda n: f"row-{n}"),
    }
    if "parent_id" in _model.__table__.c:
        _attrs["parent"] = factory.SubFactory(FACTORIES[-1])
    FACTORIES.append(type(f"{_model.__name__}Factory", (BASE,), _attrs))
'''

MODULE_HEADER = '''\
"""Synthetic tests: three inserts and a commit, {requests} request(s), one query each."""

import os

from sqlalchemy import func, select

from benchapp import MODELS, db
from benchfactories import FACTORIES

# The floor runs the same suite without isolation: it cannot assert a clean start.
ISOLATED = os.environ.get("BENCH_ISOLATED") == "1"


def exercise(client, first):
    leaf = FACTORIES[first + {leaf}]()
    path = f"/{{first + {leaf}}}/{{leaf.id}}"
    # The requests run in sessions of their own: they see what the test committed.
    db.session.commit()
    for turn in range({requests}):
        if turn % 2:
            # Every other request reads the leaf: it sees each commit before it.
            response = client.get("/read" + path)
            assert response.json["value"] == (turn + 1) // 2
        else:
            response = client.post("/touch" + path)
        assert response.status_code == 200
    rows = db.session.scalar(select(func.count()).select_from(MODELS[first]))
    if ISOLATED:
        assert rows == 1
'''

TEST = '''

def test_{index:04d}(client):
    exercise(client, {first})
'''


#: the kinds of app the suite can run on
KINDS = ("flask_sqlalchemy", "lite")


def app_source(tables: int, kind: str = "flask_sqlalchemy", loads: str = "get") -> str:
    """The source of ``benchapp.py`` for a schema of ``tables`` tables, on ``kind``'s extension.

    ``loads`` is how its views load a row (:data:`LOADS`).
    """
    if tables < CHAIN or tables % CHAIN:
        raise ValueError(f"the number of tables must be a positive multiple of {CHAIN}")
    lite = kind == "lite"
    parts = [(LITE_HEADER if lite else APP_HEADER).format(tables=tables, chain=CHAIN)]
    for i in range(tables):
        template = ROOT_MODEL if i % CHAIN == 0 else CHILD_MODEL
        source = template.format(i=i, parent=i - 1)
        parts.append(source.replace("(db.Model)", "(Base)") if lite else source)
    models = ", ".join(f"T{i:03d}" for i in range(tables))
    footer = APP_FOOTER.format(models=models, load=LOADS[loads])
    if lite:
        footer = footer.replace(
            'app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("BENCH_DATABASE_URL", '
            '"sqlite://")',
            'app.config["SQLALCHEMY_ENGINES"] = {\n'
            '        "default": os.environ.get("BENCH_DATABASE_URL", "sqlite://")\n    }',
        )
    parts.append(footer)
    return "".join(parts)


def module_sources(tables: int, tests: int, requests: int = 1) -> dict[str, str]:
    """The test modules of a suite of ``tests`` tests of ``requests`` requests, by file name."""
    if requests < 1:
        raise ValueError("each test makes at least one request")
    chains = tables // CHAIN
    modules: dict[str, str] = {}
    for start in range(0, tests, MODULE_SIZE):
        body = [MODULE_HEADER.format(leaf=TOUCHED - 1, requests=requests)]
        for index in range(start, min(start + MODULE_SIZE, tests)):
            body.append(TEST.format(index=index, first=(index % chains) * CHAIN))
        modules[f"test_m{start // MODULE_SIZE:03d}.py"] = "".join(body)
    return modules


def write_project(
    directory: Path,
    tables: int,
    tests: int,
    requests: int = 1,
    kind: str = "flask_sqlalchemy",
    loads: str = "get",
) -> None:
    """Write the app, its factories and the suite into ``directory`` (tests under tests/).

    Each test makes ``requests`` requests (see the module's docstring); the
    app is built on ``kind``'s extension (:data:`KINDS`), its views load rows
    as ``loads`` says (:data:`LOADS`).
    """
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "benchapp.py").write_text(app_source(tables, kind, loads))
    (directory / "benchfactories.py").write_text(FACTORIES)
    suite = directory / "tests"
    suite.mkdir(exist_ok=True)
    for name, source in module_sources(tables, tests, requests).items():
        (suite / name).write_text(source)


def add_loads_option(parser: Any) -> None:
    """The ``--loads`` option of the tools that run this suite (see :data:`LOADS`)."""
    parser.add_argument("--loads", choices=tuple(LOADS), default="get",
                        help="how the views load their row: session.get (default) or a SELECT "
                        "that runs whatever the session holds (same SQL for every revision)")
