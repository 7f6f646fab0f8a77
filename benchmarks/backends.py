"""The databases the benchmark runs on, and the physical floor of each.

On a server the benchmark never touches the database it is pointed at: it
creates databases of its own next to it (named after :data:`BENCH_DATABASE`,
which contains "test" so that the plugin's safety check accepts them),
recreates one before every run so that no run inherits another's catalogue or
rows, and drops them all at the end. Someone else's tests can use the server meanwhile.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

BENCH_DATABASE = "test_bench"

#: the same variables the project's own tests read, with the same defaults
DEFAULT_URLS = {
    "postgresql": os.environ.get(
        "TESTBED_TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get(
        "TESTBED_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
    ),
}
LABELS = {"sqlite": "SQLite (file)", "postgresql": "PostgreSQL", "mariadb": "MariaDB"}
BACKENDS = ("sqlite", "postgresql", "mariadb")


@dataclass
class BenchDatabase:
    """The benchmark's own database on one backend.

    ``server_url`` points at an existing database of the server (used only to
    create and drop ours); for SQLite ``directory`` holds the files.
    """

    backend: str
    directory: Path
    server_url: str | None = None
    runs: int = 0
    created: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return LABELS[self.backend]

    def fresh(self, slot: str = "") -> str:
        """The URL of an empty benchmark database, new for this run.

        Runs side by side each need one of their own: ``slot`` names it.
        """
        self.runs += 1
        name = BENCH_DATABASE + (f"_{slot}" if slot else "")
        if self.backend == "sqlite":
            for old in self.directory.glob(f"{name}-*.db*"):
                old.unlink()
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{name}-{self.runs}.db"
            # WAL for every approach alike: the plugin turns it on for its own
            # runs, and commits would otherwise cost the floor more than them.
            with sqlite3.connect(path) as connection:
                connection.execute("PRAGMA journal_mode=WAL")
            connection.close()
            return f"sqlite:///{path}"
        self.created.add(name)
        with self._admin() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        return self._url(name).render_as_string(hide_password=False)

    def drop(self) -> None:
        """Drop every benchmark database this object created (SQLite: nothing to do)."""
        if self.backend == "sqlite":
            return
        with self._admin() as connection:
            for name in sorted(self.created):
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        self.created.clear()

    def version(self) -> str:
        """The server's version string, as short as it is still exact."""
        if self.backend == "sqlite":
            return f"SQLite {sqlite3.sqlite_version}"
        with self._admin() as connection:
            text = connection.exec_driver_sql("SELECT version()").scalar_one()
        if self.backend == "postgresql":
            return " ".join(text.split()[:2])
        return f"MariaDB {text.split('-')[0]}" if "mariadb" in text.lower() else f"MySQL {text}"

    def savepoint_round_trip(self, iterations: int = 2000) -> dict[str, float]:
        """Microseconds of one ``SAVEPOINT`` + ``ROLLBACK TO SAVEPOINT``, straight on the driver.

        The physical floor of savepoint isolation: no Python above the driver
        can make a test's rollback cheaper than this.
        """
        url = self.fresh()
        engine = sa.create_engine(url)
        try:
            raw = engine.raw_connection()
            driver = raw.driver_connection
            if self.backend == "sqlite":
                driver.isolation_level = None
            cursor = driver.cursor()
            cursor.execute("BEGIN")
            samples = []
            for _ in range(iterations):
                start = time.perf_counter()
                cursor.execute("SAVEPOINT bench_floor")
                cursor.execute("ROLLBACK TO SAVEPOINT bench_floor")
                samples.append(time.perf_counter() - start)
            cursor.execute("ROLLBACK")
            cursor.close()
            raw.close()
        finally:
            engine.dispose()
        samples.sort()
        return {
            "median_us": statistics.median(samples) * 1e6,
            "p10_us": samples[len(samples) // 10] * 1e6,
            "p90_us": samples[len(samples) * 9 // 10] * 1e6,
        }

    def _url(self, name: str) -> sa.URL:
        assert self.server_url is not None
        return sa.make_url(self.server_url).set(database=name)

    @contextmanager
    def _admin(self) -> Iterator[sa.Connection]:
        assert self.server_url is not None
        engine = sa.create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            engine.dispose()


def reachable(url: str) -> str | None:
    """None when the server answers, else the first line of why not."""
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            return None
    except Exception as exc:  # any driver error means: not here
        return str(exc).strip().splitlines()[0]
    finally:
        engine.dispose()
