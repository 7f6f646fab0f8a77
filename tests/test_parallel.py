"""pytest-xdist: the schema is built once, on the controller, and cloned per worker."""

from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import exists, runs_at_once, sibling

from flask_testbed.database.servers import ensure_database

# The inner project records each creation of the item table: who built a schema.
RECORD_BUILDS = """
import os
from sqlalchemy import event
import shop

@event.listens_for(shop.Item.__table__, "after_create")
def record(target, connection, **kw):
    with open("builds.log", "a") as log:
        log.write(os.environ.get("PYTEST_XDIST_WORKER", "controller") + "\\n")
"""

WORKERS_SUITE = """
import os
import pytest
from shop import db, names

@pytest.mark.parametrize("n", range(6))
def test_workersibling(client, n):
    worker = os.environ["PYTEST_XDIST_WORKER"]
    assert db.engine.url.database.endswith(f"_{worker}") or f"_{worker}." in db.engine.url.database
    assert client.post("/items", json={"name": f"{worker}-{n}"}).status_code == 201
    assert names() == [f"{worker}-{n}"]
"""


def _builds(shop) -> list[str]:
    log = Path(shop.pytester.path, "builds.log")
    builds = log.read_text().split() if log.exists() else []
    log.unlink(missing_ok=True)
    return builds


def test_the_schema_is_built_once_and_cloned_per_worker(shop):
    # What a killed run may leave: a worker database with a stale table and a row.
    stale = sibling(shop.database_url, "gw0")
    ensure_database(stale)
    engine = sa.create_engine(stale)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE stale_leftover (id INTEGER PRIMARY KEY)")
        connection.exec_driver_sql("INSERT INTO stale_leftover (id) VALUES (1)")
    engine.dispose()

    result = shop.run_subprocess("-n", "2", conftest=RECORD_BUILDS, test_workers=WORKERS_SUITE)
    result.assert_outcomes(passed=6)
    # One build per bind database: the controller's, never a worker's.
    assert set(_builds(shop)) == {"controller"}
    assert "cannot clone" not in result.stdout.str()
    template = sibling(shop.database_url, "template")
    assert not exists(template), "the template outlives a run without --reuse-db"
    for worker in ("gw0", "gw1"):
        assert not exists(sibling(shop.database_url, worker)), worker


def test_reuse_db_keeps_the_template_and_the_worker_databases(shop):
    template = sibling(shop.database_url, "template")
    try:
        first = shop.run_subprocess(
            "-n", "2", "--reuse-db", conftest=RECORD_BUILDS, test_workers=WORKERS_SUITE
        )
        first.assert_outcomes(passed=6)
        assert set(_builds(shop)) == {"controller"}
        assert exists(template)

        # Warm: nothing is built, nothing is cloned, and no row of the first run is seen.
        second = shop.run_subprocess("-n", "2", "--reuse-db")
        second.assert_outcomes(passed=6)
        assert _builds(shop) == []
        second.stdout.fnmatch_lines(["*reusing the template database: its schema is current*"])

        forced = shop.run_subprocess("-n", "2", "--reuse-db", "--create-db")
        forced.assert_outcomes(passed=6)
        assert set(_builds(shop)) == {"controller"}
    finally:
        shop.run_subprocess("-n", "2")  # without --reuse-db: drops what it used


def test_a_schema_mariadb_cannot_clone_is_built_by_each_worker(shop, backend):
    if backend != "mariadb":
        pytest.skip("only MariaDB refuses to clone (a trigger cannot be copied faithfully)")
    trigger = RECORD_BUILDS + """
@event.listens_for(shop.Item.__table__, "after_create")
def add_trigger(target, connection, **kw):
    connection.exec_driver_sql(
        "CREATE TRIGGER item_name_upper BEFORE INSERT ON item "
        "FOR EACH ROW SET NEW.name = UPPER(NEW.name)"
    )
"""
    suite = """
from shop import names

def test_the_trigger_exists_in_the_worker_database(client):
    client.post("/items", json={"name": "low"})
    assert names() == ["LOW"]
"""
    result = shop.run_subprocess(
        "-n", "2", conftest=trigger, test_trigger=suite
    )
    result.assert_outcomes(passed=1)
    builds = _builds(shop)
    assert builds[0] == "controller"
    assert len(builds) >= 2 and set(builds[1:]) <= {"gw0", "gw1"}
    result.stdout.fnmatch_lines(["*cannot clone*holds triggers*builds its own schema*"])


FLOW = """
import os

def test_1_first_item(client_module):
    assert client_module.post("/items", json={"name": "first"}).status_code == 201

def test_2_sees_the_first(client_module):
    assert client_module.get("/items").json == ["first"]
    client_module.post("/items", json={"name": "second"})

def test_3_sees_both_on_the_same_worker(client_module):
    assert client_module.get("/items").json == ["first", "second"]
"""

SPREAD = """
import pytest

@pytest.mark.parametrize("n", range(10))
def test_alone(client, n):
    assert client.get("/items").json == []
"""


def test_a_client_module_flow_stays_whole_under_the_default_distribution(shop):
    result = shop.run_subprocess("-n", "2", "-v", test_flow=FLOW, test_spread=SPREAD)
    result.assert_outcomes(passed=13)
    workers = {
        line.split()[0]
        for line in result.stdout.lines
        if "test_flow.py::" in line and "PASSED" in line
    }
    assert len(workers) == 1, workers  # e.g. {"[gw1]"}


def test_two_parallel_runs_at_once_get_databases_of_their_own(shop):
    """Two xdist runs on one server: the second takes the next slot, templates and workers."""
    shop.pytester.makepyfile(
        test_slow="""
import pytest
import run_barrier
from shop import db

@pytest.mark.parametrize("n", range(2))
def test_holds_thesibling(client, n):
    print("DATABASE=" + db.engine.url.database.rsplit("/", 1)[-1])
    client.post("/items", json={"name": "mine"})
    run_barrier.both_claimed()
    assert client.get("/items").json == ["mine"]
"""
    )
    outputs = runs_at_once(
        ["-n", "2", "-s", f"--testbed-db-url={shop.database_url}"], shop.pytester.path, shop.env
    )
    assert not any("waiting for it to finish" in out for out in outputs), outputs
    for suffix in ("template", "gw0", "gw1", "2_template", "2_gw0", "2_gw1"):
        assert not exists(sibling(shop.database_url, suffix)), suffix
