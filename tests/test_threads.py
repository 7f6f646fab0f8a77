"""Threads that outlive their test: refused on the pinned connection, and reported.

A request starts a job that commits 0.3 s later, after the test ended. Without
the guard its row would land in whatever scope is open then; with it, the
job's statement is refused with a line naming the test that started it, and
the test running at that moment (or the next one) errors at teardown with it.
"""

from __future__ import annotations

from conftest import one_error_line

LATE_JOB = """
import time
from shop import db, job_errors, names

def test_1_starts_a_job(client):
    assert client.post("/items/later", json={"name": "late"}).status_code == 202

def test_2_runs_while_the_job_commits(client):
    time.sleep(0.8)  # the job tries to commit meanwhile
    assert names() == []

def test_3_starts_clean(client):
    assert names() == []
    assert len(job_errors) == 1, job_errors
    assert job_errors[0].startswith("a thread started by test_late.py::test_1_starts_a_job ")
"""


def test_a_thread_that_commits_after_its_test_ended_is_refused_and_reported(shop, backend):
    result = shop.run(test_late=LATE_JOB)
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_2_runs_while_the_job_commits*",
        "a thread started by test_late.py::test_1_starts_a_job ran a statement after that "
        "test ended: *; join it before the test ends (or start it from a session- or "
        "module-scoped fixture*",
    ])
    assert shop.count("item") == 0


def test_a_late_thread_cannot_write_into_a_session_fixture(shop, backend):
    """The job commits while the next module's session fixture is set up: without the
    guard its row would join the run's outer transaction and every later test."""
    result = shop.run(
        test_a_job="""
from shop import names

def test_starts_a_job(client):
    assert client.post("/items/later", json={"name": "late"}).status_code == 202
""",
        test_b_catalogue="""
import time
import pytest
from shop import Item, db, names

@pytest.fixture(scope="session")
def catalogue(app):
    time.sleep(0.8)  # the job tries to commit meanwhile
    db.session.add(Item(name="chair"))
    db.session.commit()

def test_1_sees_the_catalogue_only(client, catalogue):
    assert names() == ["chair"]

def test_2_still(client, catalogue):
    assert names() == ["chair"]
""",
    )
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_1_sees_the_catalogue_only*",
        "a thread started by test_a_job.py::test_starts_a_job ran a statement after*",
    ])
    assert shop.count("item") == 0


def test_a_late_thread_that_ran_after_the_last_test_is_the_runs_error(shop, backend):
    result = shop.run(
        test_last="""
import time
import pytest
from shop import names

@pytest.fixture(scope="module")
def slow_teardown(app):
    yield
    time.sleep(0.8)  # the job tries to commit meanwhile

def test_starts_a_job(slow_teardown, client):
    assert client.post("/items/later", json={"name": "late"}).status_code == 202
"""
    )
    assert one_error_line(result).startswith(
        "ERROR: a thread started by test_last.py::test_starts_a_job ran a statement after"
    )
    assert shop.count("item") == 0


def test_threads_of_wider_fixtures_and_joined_threads_keep_working(shop, backend):
    """A worker started by a module fixture (a server) serves every test; a thread the
    test joins is the test's. Neither is refused, and each test's rows stay its own."""
    result = shop.run(
        test_worker="""
import queue
import threading
import pytest
from shop import Item, db, names

@pytest.fixture(scope="module")
def worker(app):
    jobs = queue.Queue()

    def serve():
        while (job := jobs.get()) is not None:
            name, done = job
            with app.app_context():
                db.session.add(Item(name=name))
                db.session.commit()
            done.set()

    thread = threading.Thread(target=serve)
    thread.start()

    def add(name):
        done = threading.Event()
        jobs.put((name, done))
        assert done.wait(10)

    yield add
    jobs.put(None)
    thread.join()

def test_1_worker_writes(client, worker):
    worker("one")
    assert names() == ["one"]

def test_2_worker_writes_again(client, worker):
    worker("two")
    assert names() == ["two"]

def test_3_a_joined_thread(client):
    assert client.post("/items/threaded", json={"name": "joined"}).status_code == 200
    assert names() == ["joined"]
"""
    )
    result.assert_outcomes(passed=3)
    assert shop.count("item") == 0
