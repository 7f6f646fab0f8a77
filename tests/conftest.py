"""Backends and inner pytest sessions for the project's own tests.

Every plugin behaviour is checked the way pytest plugins are: a real inner
pytest session on a small app (``tests/apps``), once per backend.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path

# Imported once here: inner in-process sessions unload the modules they import,
# and a re-imported driver (its error classes) or signal module breaks identity.
import flask_sqlalchemy.record_queries
import flask_sqlalchemy.track_modifications  # noqa: F401
import flask_sqlalchemy_lite  # noqa: F401
import psycopg  # noqa: F401
import pymysql  # noqa: F401
import pytest
import sqlalchemy as sa
import sqlalchemy.dialects.mysql
import sqlalchemy.dialects.postgresql
import sqlalchemy.dialects.sqlite

APPS = Path(__file__).parent / "apps"

#: Under pytest-xdist, this suite's own worker id ("gw0"...). Taken out of the
#: environment, so that the inner sessions it starts do not take themselves for
#: workers; each worker uses databases of its own instead.
OUTER_WORKER = os.environ.pop("PYTEST_XDIST_WORKER", None)
for _variable in ("PYTEST_XDIST_TESTRUNUID", "PYTEST_XDIST_WORKER_COUNT"):
    os.environ.pop(_variable, None)


#: A name for this run of the suite, where two run at once on the same servers
#: (the compatibility matrix's sessions): their databases are then apart too.
RUN_NAME = re.sub(r"\W", "_", os.environ.get("TESTBED_TEST_RUN_NAME", "")).lower()
if "test" in RUN_NAME:
    raise pytest.UsageError(
        f"TESTBED_TEST_RUN_NAME={RUN_NAME!r} contains 'test': the suite's stand-ins for "
        "development databases would then look like test databases; choose another name"
    )


def own(name: str) -> str:
    """A database name private to this run of the suite (to this worker under xdist)."""
    return "_".join(part for part in (name, OUTER_WORKER, RUN_NAME) if part)


SERVER_URLS = {
    "postgresql": os.environ.get(
        "TESTBED_TEST_POSTGRESQL_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{own('test')}"
    ),
    "mariadb": os.environ.get(
        "TESTBED_TEST_MARIADB_URL", f"mysql+pymysql://root@127.0.0.1:3306/{own('test')}"
    ),
}
_reachable: dict[str, str | None] = {}


def server_url(name: str) -> str:
    """The URL of a server backend, or a skip (a failure under CI=true) when it is down."""
    url = SERVER_URLS[name]
    if name not in _reachable:
        try:
            if OUTER_WORKER or RUN_NAME:
                create_database(sa.make_url(url))
            engine = sa.create_engine(url)
            with engine.connect():
                pass
            engine.dispose()
            _reachable[name] = None
        except Exception as exc:  # any driver error means: not here
            _reachable[name] = str(exc).strip().splitlines()[0]
    reason = _reachable[name]
    if reason is not None:
        message = f"{name} is not reachable at {sa.make_url(url)!r}: {reason}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return url


def one_error_line(result: pytest.RunResult) -> str:
    """The one ``ERROR:`` line of a run stopped as a usage error, with no traceback."""
    output = result.stdout.str() + "\n" + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    assert "Traceback" not in output
    assert "flask_testbed/" not in output
    errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, output
    return errors[0]


def create_database(url: sa.URL) -> None:
    """Create a database as a user would (without the plugin's mark), unless it exists."""
    from flask_testbed.database.servers import on_server

    admin, backend = on_server(url)
    try:
        with admin.connect() as connection:
            if not backend.database_exists(connection, url.database):
                backend.create_database(connection, url.database)
    finally:
        admin.dispose()


def sibling(url: str | sa.URL, suffix: str) -> sa.URL:
    """``<name>_<suffix>`` beside a database (an SQLite file keeps its extension)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database)
        return parsed.set(database=str(path.with_name(f"{path.stem}_{suffix}{path.suffix}")))
    return parsed.set(database=f"{parsed.database}_{suffix}")


def exists(url: sa.URL) -> bool:
    """Whether the database is there: an SQLite file, or a database on its server."""
    if url.get_backend_name() == "sqlite":
        return Path(url.database).exists()
    return database_exists(url)


def database_exists(url: sa.URL) -> bool:
    """Whether the server holds a database of that name (what the plugin created or dropped)."""
    from flask_testbed.database.servers import on_server

    admin, backend = on_server(url)
    try:
        with admin.connect() as connection:
            return backend.database_exists(connection, url.database)
    finally:
        admin.dispose()


#: the repository's root: where a user runs ``pytest examples/myapp``
ROOT = Path(__file__).resolve().parents[1]


def run_as_a_user(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """pytest in a process of its own, as a user starts it: no setting of this run leaks in."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TESTBED_") and key != "PYTEST_ADDOPTS"
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )


def junit_counts(report: Path, output: str) -> dict[str, int]:
    """Tests, failures, errors and skips in a JUnit XML report (``output`` for the message)."""
    import xml.etree.ElementTree as ET

    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None, output
    return {key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")}


#: Loaded by both runs of :func:`runs_at_once`: their tests wait for each other
#: instead of sleeping, so that they overlap however slow the machine is.
RUN_BARRIER = '''
import os
import time
from pathlib import Path

import pytest


def _mark(config, stage):
    if not hasattr(config, "workerinput"):  # the run itself, not an xdist worker
        Path(f"{stage}-{os.getpid()}").touch()


def pytest_configure(config):
    _mark(config, "started")


@pytest.hookimpl(hookwrapper=True)
def pytest_sessionstart(session):
    yield
    _mark(session.config, "claimed")  # the plugin claimed its databases in there


def _both(stage, seconds=120):
    deadline = time.monotonic() + seconds
    while len(list(Path().glob(f"{stage}-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)


def both_claimed():
    """Return once both runs hold their databases."""
    _both("claimed")


def other_started():
    """Return once the other run has started (and is, soon after, waiting for ours)."""
    _both("started")
    time.sleep(1.5)
'''


def runs_at_once(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 180) -> list[str]:
    """Start two identical pytest runs together; their outputs, once both passed.

    Their tests can wait for each other with ``run_barrier`` (:data:`RUN_BARRIER`).
    """
    (cwd / "run_barrier.py").write_text(RUN_BARRIER)
    command = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly",
        "-p", "run_barrier", *args,
    ]
    runs = [
        subprocess.Popen(command, cwd=cwd, env={**os.environ, **env}, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=timeout)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    return outputs


BACKENDS = ["sqlite", "postgresql", "mariadb"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The name of the backend this test runs on."""
    return request.param


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'shop-test.db'}"
    return server_url(backend)


@pytest.fixture
def audit_url(backend: str, database_url: str, tmp_path: Path) -> str:
    # A second engine: on a server, the same test database; on SQLite, another
    # file (two connections to one SQLite file would lock each other out).
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'audit-test.db'}"
    return database_url


class Shop:
    """An inner project: the shop app, its tests, and a way to run them."""

    def __init__(self, pytester: pytest.Pytester, database_url: str, audit_url: str) -> None:
        self.pytester = pytester
        #: given as --testbed-db-url; None leaves the default database to the app's config
        self.database_url: str | None = database_url
        pytester.makepyfile(
            shop=(APPS / "shop.py").read_text(), probe=(APPS / "probe.py").read_text()
        )
        pytester.makeini("[pytest]\ntestbed_app = shop:create_app\n")
        pytester.syspathinsert()
        self.env = {"SHOP_AUDIT_URL": audit_url}

    def run(self, *args: str, **files: str) -> pytest.RunResult:
        """An inner run in this process (fast; pytester restores sys.modules after it)."""
        return self._run(self.pytester.runpytest, "-p", "no:randomly", *args, **files)

    def run_subprocess(
        self, *args: str, timeout: float | None = None, **files: str
    ) -> pytest.RunResult:
        """A run in a process of its own: for xdist, and for runs that must not share state.

        ``timeout`` (seconds) fails the test if the run hangs.
        """
        runner = functools.partial(self.pytester.runpytest_subprocess, timeout=timeout)
        # In a fixed order unless the run opts in with "-p", "randomly".
        return self._run(runner, "-p", "no:randomly", *args, **files)

    def _run(self, runner, *args: str, **files: str) -> pytest.RunResult:
        if files:
            self.pytester.makepyfile(**files)
        with pytest.MonkeyPatch.context() as mp:
            for key, value in self.env.items():
                mp.setenv(key, value)
            if self.database_url is not None:
                args = (f"--testbed-db-url={self.database_url}", *args)
            return runner("-p", "no:cacheprovider", *args)

    def has_table(self, table: str) -> bool:
        engine = sa.create_engine(self.database_url)
        try:
            return sa.inspect(engine).has_table(table)
        finally:
            engine.dispose()

    def drop(self, table: str) -> None:
        engine = sa.create_engine(self.database_url)
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
        finally:
            engine.dispose()

    def count(self, table: str, url: str | None = None) -> int:
        """Rows in ``table`` as a fresh connection sees them (what really committed)."""
        engine = sa.create_engine(url or self.database_url)
        try:
            with engine.connect() as connection:
                if not sa.inspect(connection).has_table(table):
                    return 0
                return connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
        finally:
            engine.dispose()


@pytest.fixture
def shop(pytester: pytest.Pytester, database_url: str, audit_url: str) -> Shop:
    return Shop(pytester, database_url, audit_url)
