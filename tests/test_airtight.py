"""A suite that mixes every way into the database, in any order, on two workers: nothing leaks."""

import pytest

#: each kind of test, written as a function body; each starts from no items and writes some
KINDS = {
    "request": """
    assert client.post("/items", json={"name": f"r{n}"}).status_code == 201
    assert client.get("/items").json == [f"r{n}"]
""",
    "forgetful_request": """
    client.post("/items/forgetful", json={"name": f"f{n}"})
    assert client.get("/items").json == []
""",
    "begin_block": """
    assert Item.query.count() == 0
    assert client.post("/items/begin", json={"name": f"b{n}"}).status_code == 201
""",
    "second_app": """
    second = create_app()
    with second.app_context():
        db.session.add(Item(name=f"s{n}"))
        db.session.commit()
    assert client.get("/items").json == [f"s{n}"]
""",
    "engine_copy": """
    with db.engine.execution_options(logging_token="copy").begin() as connection:
        connection.execute(sa.text("INSERT INTO item (name) VALUES (:n)"), {"n": f"c{n}"})
""",
    "autocommit": """
    with db.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(sa.text("INSERT INTO item (name) VALUES (:n)"), {"n": f"a{n}"})
""",
    "raw_connection": """
    raw = db.engine.raw_connection()
    raw.cursor().execute(f"INSERT INTO item (name) VALUES ('w{n}')")
    raw.commit()
    raw.close()
""",
    "plain_engine": """
    engine = sa.create_engine(db.engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO item (name) VALUES (:n)"), {"n": f"p{n}"})
    engine.dispose()
""",
    "thread": """
    assert client.post("/items/threaded", json={"name": f"t{n}"}).json == [f"t{n}"]
""",
    "cli": """
    assert runner.invoke(args=["add-item"]).exit_code == 0
""",
    "audit_bind": """
    assert client.post("/audit", json={"message": f"m{n}"}).json == {"count": seeded + 1}
""",
    "session_data": """
    assert db.session.query(AuditEntry).count() == seeded
    db.session.query(AuditEntry).delete()
    db.session.commit()
    assert client.post("/items", json={"name": f"d{n}"}).status_code == 201
""",
}

HEADER = """
import pytest
import sqlalchemy as sa
from shop import AuditEntry, Item, create_app, db


@pytest.fixture(scope="session", params=["one", "two"])
def audit_seed(request, app):
    db.session.add(AuditEntry(message=f"seed-{request.param}"))
    db.session.commit()
    return 1


@pytest.fixture
def seeded(audit_seed, db_session):
    return db_session.query(AuditEntry).count()


@pytest.fixture(autouse=True)
def starts_clean(db_session):
    assert db_session.query(Item).count() == 0
"""


def suite(modules: int = 4, per_kind: int = 2) -> dict[str, str]:
    """``modules`` modules of ``per_kind`` tests of each kind, each run for both seeds.

    4 x 2 x 12 kinds x 2 params = 192 tests.
    """
    files = {}
    for m in range(modules):
        tests = [HEADER]
        for kind, body in KINDS.items():
            for i in range(per_kind):
                n = f"{m}_{i}"
                tests.append(
                    f"\ndef test_{kind}_{i}(client, runner, seeded):\n    n = {n!r}\n{body}"
                )
        files[f"test_mix_{m}"] = "".join(tests)
    return files


COMMON = ("--testbed-check-leaks", "-o", "testbed_uncommitted=ignore", "-p", "randomly")
TESTS = 4 * 2 * len(KINDS) * 2


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_a_mixed_suite_in_random_order_leaks_nothing(shop, seed):
    result = shop.run_subprocess(*COMMON, f"--randomly-seed={seed}", **suite())
    result.assert_outcomes(passed=TESTS)
    assert shop.count("item") == 0


def test_a_mixed_suite_on_two_workers_leaks_nothing(shop):
    result = shop.run_subprocess(*COMMON, "--randomly-seed=7", "-n", "2", **suite())
    result.assert_outcomes(passed=TESTS)
