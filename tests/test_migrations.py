"""testbed_schema = migrations: the schema comes from the app's migrations, run to head."""

import sys

import pytest

LEDGER = """
import os
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
migrate = Migrate()

class Entry(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    amount = db.Column(db.Integer, nullable=False)
    memo = db.Column(db.String(50))

def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "migrations"))
    return app
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

FIRST = 'op.create_table("entry", sa.Column("id", sa.Integer, primary_key=True), ' \
    'sa.Column("amount", sa.Integer, nullable=False))'
SECOND = 'op.add_column("entry", sa.Column("memo", sa.String(50)))'
INDEX = 'op.create_index("ix_entry_amount", "entry", ["amount"])'
BROKEN = 'op.execute("ALTER TABLE no_such_table ADD COLUMN x INTEGER")'

USES_SCHEMA = """
from sqlalchemy import text
from ledger import Entry, db

def test_schema_is_the_migrations(db_session):
    db_session.add(Entry(amount=5, memo="from the second migration"))
    db_session.commit()
    assert Entry.query.one().memo == "from the second migration"
    assert db_session.execute(text("SELECT version_num FROM alembic_version")).scalar() == "{head}"
"""


@pytest.fixture
def ledger(pytester, database_url):
    pytester.makepyfile(ledger=LEDGER)
    pytester.syspathinsert()
    init = pytester.run(
        sys.executable, "-c",
        "from flask_migrate import init\n"
        "from ledger import create_app\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    init(directory='migrations')\n",
    )
    assert init.ret == 0, init.stderr.str()
    versions = pytester.path / "migrations" / "versions"
    versions.joinpath("0001_entries.py").write_text(
        REVISION.format(revision="0001", down=None, body=FIRST)
    )
    versions.joinpath("0002_memo.py").write_text(
        REVISION.format(revision="0002", down="0001", body=SECOND)
    )
    pytester.makeini("[pytest]\ntestbed_app = ledger:create_app\ntestbed_schema = migrations\n")

    def run(*args, subprocess=False, **files):
        if files:
            pytester.makepyfile(**files)
        runner = pytester.runpytest_subprocess if subprocess else pytester.runpytest
        return runner("-p", "no:cacheprovider", f"--testbed-db-url={database_url}", *args)

    return run


def test_schema_is_built_by_the_migrations(ledger):
    ledger(test_ledger=USES_SCHEMA.format(head="0002")).assert_outcomes(passed=1)


def test_reuse_db_rebuilds_when_the_head_moves(ledger, pytester):
    ledger("--reuse-db", test_ledger=USES_SCHEMA.format(head="0002")).assert_outcomes(passed=1)
    again = ledger("--reuse-db")
    again.assert_outcomes(passed=1)
    again.stdout.fnmatch_lines(["*reusing the test database*"])
    pytester.path.joinpath("migrations", "versions", "0003_index.py").write_text(
        REVISION.format(revision="0003", down="0002", body=INDEX)
    )
    moved = ledger("--reuse-db", test_ledger=USES_SCHEMA.format(head="0003"))
    moved.assert_outcomes(passed=1)
    assert "reusing the test database" not in moved.stdout.str()
    ledger("--create-db")  # leave nothing behind for the next test


def test_a_failing_migration_is_one_line_naming_it(ledger, pytester):
    pytester.path.joinpath("migrations", "versions", "0003_broken.py").write_text(
        REVISION.format(revision="0003", down="0002", body=BROKEN)
    )
    result = ledger(test_ledger=USES_SCHEMA.format(head="0003"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: migration 0003 failed (*no_such_table*); fix it in */migrations/versions, "
         "or use testbed_schema = create_all"]
    )


def test_under_xdist_the_controller_migrates_once_and_the_workers_clone(ledger, pytester):
    logged = (
        "; open('upgrades.log', 'a').write("
        "__import__('os').environ.get('PYTEST_XDIST_WORKER', 'controller') + chr(10))"
    )
    pytester.path.joinpath("migrations", "versions", "0001_entries.py").write_text(
        REVISION.format(revision="0001", down=None, body=FIRST + logged)
    )
    tests = USES_SCHEMA.format(head="0002").replace(
        "def test_schema_is_the_migrations(db_session):",
        "import pytest\n\n@pytest.mark.parametrize('n', range(4))\n"
        "def test_schema_is_the_migrations(db_session, n):",
    )
    result = ledger("-n", "2", subprocess=True, test_ledger=tests)
    result.assert_outcomes(passed=4)
    assert pytester.path.joinpath("upgrades.log").read_text().split() == ["controller"]


def test_under_xdist_a_failing_migration_stops_the_run_in_one_line(ledger, pytester):
    pytester.path.joinpath("migrations", "versions", "0003_broken.py").write_text(
        REVISION.format(revision="0003", down="0002", body=BROKEN)
    )
    result = ledger("-n", "2", subprocess=True, test_ledger=USES_SCHEMA.format(head="0003"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*migration 0003 failed (*no_such_table*)*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
