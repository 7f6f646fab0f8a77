"""testbed_schema = migrations without Flask-Migrate: the project's own alembic.ini, run to head.

A Flask-SQLAlchemy-Lite app and a plain SQLAlchemy app, each with a small
Alembic project (``alembic.ini``, an ``env.py`` in the style of Alembic's
default template, revisions that create the tables), on every backend.
"""

from __future__ import annotations

import pytest
from conftest import APPS, one_error_line

KINDS = {
    "lite": "testbed_app = lite:create_app\ntestbed_metadata = lite:Base.metadata\n",
    "plain": (
        "testbed_app = plain:create_app\n"
        "testbed_engine = plain:engine\n"
        "testbed_session = plain:db_session\n"
        "testbed_metadata = plain:Base.metadata\n"
    ),
}

ALEMBIC_INI = """
[alembic]
script_location = %(here)s/alembic
prepend_sys_path = .
sqlalchemy.url = driver://user:pass@localhost/dbname
"""

#: Alembic's default template, logging left out: the engine is made from sqlalchemy.url
ENV_PY = """
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
target_metadata = None


def run_migrations_online():
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
"""

#: Alembic's cookbook: the connection the caller shares, else an engine of its own
SHARED_ENV_PY = """
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
connection = config.attributes.get("connection")
assert connection is not None, "the plugin shares its connection"
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
"""

REVISION = '''
import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = {down!r}
branch_labels = None
depends_on = None

def upgrade():
    {body}

def downgrade():
    pass
'''

LOGGED = (
    "open('upgrades.log', 'a').write('upgraded' + chr(10))\n    "
)
FIRST = (
    'op.create_table("item", sa.Column("id", sa.Integer, primary_key=True), '
    'sa.Column("name", sa.String(50), unique=True))\n    '
    'op.create_table("tag", sa.Column("id", sa.Integer, primary_key=True), '
    'sa.Column("item_id", sa.Integer, sa.ForeignKey("item.id")), '
    'sa.Column("label", sa.String(50)))\n    '
    'op.create_table("item_history", sa.Column("id", sa.Integer, primary_key=True), '
    'sa.Column("item_name", sa.String(50)))'
)
#: a column only the migration has, not the models
SECOND = (
    'op.add_column("item", sa.Column("note", sa.String(20), '
    'server_default="from-migration"))'
)
BROKEN = 'op.execute("ALTER TABLE no_such_table ADD COLUMN x INTEGER")'

USES_SCHEMA = """
from sqlalchemy import text
from kind import Item, session

def test_1_schema_is_the_migrations(client):
    assert client.post("/items", json={{"name": "a"}}).status_code == 201
    assert session().execute(text("SELECT note FROM item")).scalar_one() == "from-migration"
    version = session().execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert version == "{head}"

def test_2_sees_none_of_it(client):
    assert client.get("/items").json == []
"""


class Project:
    """An inner project on one app kind, with an Alembic project of its own."""

    def __init__(self, pytester: pytest.Pytester, kind: str, database_url: str,
                 audit_url: str) -> None:
        self.pytester = pytester
        pytester.makepyfile(**{kind: (APPS / f"{kind}.py").read_text()},
                            kind=f"from {kind} import *  # noqa: F403\n")
        pytester.makeini("[pytest]\n" + KINDS[kind] + "testbed_schema = migrations\n")
        pytester.syspathinsert()
        pytester.path.joinpath("alembic.ini").write_text(ALEMBIC_INI)
        versions = pytester.path / "alembic" / "versions"
        versions.mkdir(parents=True)
        pytester.path.joinpath("alembic", "env.py").write_text(ENV_PY)
        self.revision("0001", None, LOGGED + FIRST)
        self.revision("0002", "0001", SECOND)
        self.database_url = database_url
        self.audit_url = audit_url

    def revision(self, revision: str, down: str | None, body: str) -> None:
        self.pytester.path.joinpath("alembic", "versions", f"{revision}.py").write_text(
            REVISION.format(revision=revision, down=down, body=body)
        )

    def upgrades(self) -> int:
        log = self.pytester.path / "upgrades.log"
        return len(log.read_text().split()) if log.exists() else 0

    def run(self, *args: str, **files: str) -> pytest.RunResult:
        if files:
            self.pytester.makepyfile(**files)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SHOP_AUDIT_URL", self.audit_url)
            mp.delenv("TESTBED_ALEMBIC_INI", raising=False)
            return self.pytester.runpytest(
                "-p", "no:cacheprovider", "-p", "no:randomly",
                f"--testbed-db-url={self.database_url}", *args,
            )


@pytest.fixture(params=sorted(KINDS))
def project(request: pytest.FixtureRequest, pytester: pytest.Pytester, database_url: str,
            audit_url: str) -> Project:
    return Project(pytester, request.param, database_url, audit_url)


def test_the_schema_comes_from_the_alembic_migrations(project):
    result = project.run(test_schema=USES_SCHEMA.format(head="0002"))
    result.assert_outcomes(passed=2)
    assert project.upgrades() == 1


def test_an_env_py_that_takes_the_shared_connection_works_too(project):
    project.pytester.path.joinpath("alembic", "env.py").write_text(SHARED_ENV_PY)
    project.run(test_schema=USES_SCHEMA.format(head="0002")).assert_outcomes(passed=2)


def test_an_alembic_ini_elsewhere_is_named_by_testbed_alembic_ini(project):
    elsewhere = project.pytester.path / "db"
    elsewhere.mkdir()
    project.pytester.path.joinpath("alembic.ini").rename(elsewhere / "alembic.ini")
    project.pytester.path.joinpath("alembic").rename(elsewhere / "alembic")
    result = project.run("--testbed-alembic-ini=db/alembic.ini",
                         test_schema=USES_SCHEMA.format(head="0002"))
    result.assert_outcomes(passed=2)


def test_reuse_db_reuses_until_the_head_moves(project):
    project.run("--reuse-db", test_schema=USES_SCHEMA.format(head="0002")).assert_outcomes(passed=2)
    again = project.run("--reuse-db")
    again.assert_outcomes(passed=2)
    again.stdout.fnmatch_lines(["*reusing the test database*"])
    assert project.upgrades() == 1
    project.revision("0003", "0002", 'op.create_index("ix_tag_label", "tag", ["label"])')
    moved = project.run("--reuse-db", test_schema=USES_SCHEMA.format(head="0003"))
    moved.assert_outcomes(passed=2)
    assert "reusing the test database" not in moved.stdout.str()
    assert project.upgrades() == 2
    project.run("--create-db")  # leave nothing behind for the next test


def test_a_failing_revision_is_one_line_naming_it(project):
    project.revision("0003", "0002", BROKEN)
    line = one_error_line(project.run(test_schema=USES_SCHEMA.format(head="0003")))
    assert line.startswith("ERROR: migration 0003 failed (")
    assert "no_such_table" in line
    assert line.endswith("alembic/versions, or use testbed_schema = create_all")


def test_a_missing_alembic_ini_is_one_line(project):
    line = one_error_line(project.run("--testbed-alembic-ini=nowhere/alembic.ini",
                                      test_any="def test_any(client):\n    pass\n"))
    assert "there is no alembic.ini at" in line
    assert "nowhere/alembic.ini; point testbed_alembic_ini at" in line


def test_no_flask_migrate_and_no_alembic_ini_is_one_line(project):
    project.pytester.path.joinpath("alembic.ini").unlink()
    line = one_error_line(project.run(test_any="def test_any(client):\n    pass\n"))
    assert "needs Flask-Migrate on the app or an alembic.ini" in line


def test_an_alembic_ini_without_script_location_is_one_line(project):
    project.pytester.path.joinpath("alembic.ini").write_text("[alembic]\n")
    line = one_error_line(project.run(test_any="def test_any(client):\n    pass\n"))
    assert "cannot read the Alembic configuration" in line
    assert "script_location" in line


#: an env.py that takes its URL from somewhere of its own: a database no run may migrate
OWN_URL_ENV_PY = ENV_PY.replace(
    "config = context.config\n",
    "config = context.config\n"
    "import os\n"
    "config.set_main_option('sqlalchemy.url', 'sqlite:///' + os.path.abspath('shop.db'))\n",
)


def test_an_env_py_that_connects_elsewhere_is_refused_before_any_migration(project):
    import sqlalchemy as sa

    project.pytester.path.joinpath("alembic", "env.py").write_text(OWN_URL_ENV_PY)
    line = one_error_line(project.run(test_any="def test_any(client):\n    pass\n"))
    assert "refusing to run migrations on sqlite:///" in line
    assert "not one of this run's test databases" in line
    assert project.upgrades() == 0
    shop = project.pytester.path / "shop.db"
    if shop.exists():
        engine = sa.create_engine(f"sqlite:///{shop}")
        assert sa.inspect(engine).get_table_names() == []
        engine.dispose()


def test_under_xdist_the_controller_migrates_once_and_the_workers_clone(project):
    tests = USES_SCHEMA.format(head="0002").replace(
        "def test_1_schema_is_the_migrations(client):",
        "import pytest\n\n@pytest.mark.parametrize('n', range(4))\n"
        "def test_1_schema_is_the_migrations(client, n):",
    )
    project.pytester.makepyfile(test_schema=tests)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHOP_AUDIT_URL", project.audit_url)
        result = project.pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "-p", "no:randomly",
            f"--testbed-db-url={project.database_url}", "-n", "2",
        )
    result.assert_outcomes(passed=5)
    assert project.upgrades() == 1


def test_the_default_engine_off_the_run_s_databases_is_refused(tmp_path):
    import sqlalchemy as sa

    from flask_testbed.database.migrations import Alembic
    from flask_testbed.errors import TestbedError

    tmp_path.joinpath("alembic.ini").write_text(ALEMBIC_INI)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    source = Alembic(str(tmp_path / "alembic.ini"), engine,
                     [sa.make_url(f"sqlite:///{tmp_path / 'test_shop.db'}")])
    with pytest.raises(TestbedError, match="refusing to run migrations on sqlite:///"):
        source.head()
    engine.dispose()


def test_an_in_memory_database_needs_the_shared_connection(project, backend):
    if backend != "sqlite":
        pytest.skip("in-memory databases are SQLite's")
    project.database_url = "sqlite://"
    line = one_error_line(project.run(test_any="def test_any(client):\n    pass\n"))
    assert "refusing to run migrations on a new in-memory SQLite database" in line
    project.pytester.path.joinpath("alembic", "env.py").write_text(SHARED_ENV_PY)
    # test_any, and the two of the schema's
    project.run(test_schema=USES_SCHEMA.format(head="0002")).assert_outcomes(passed=3)
