"""Wider-scoped fixtures first used in the middle of a module or class.

Each is set up outside the savepoint of the module or class it is first used
in, with its param, only when a test that runs needs it, and with database
access allowed; none of them ever hands out objects whose rows are gone.
"""

import pytest

# Session and module fixtures that write a row each, and count their setups in
# a file so that a test can tell when and how often they ran.
CONFTEST = """
import pytest
from shop import Item, db

def note(what):
    with open("setups.txt", "a") as log:
        log.write(what + "\\n")

@pytest.fixture(scope="session", params=["red", "blue"])
def colour(request, db):
    note(f"colour-{request.param}")
    item = Item(name=f"colour-{request.param}")
    db.session.add(item)
    db.session.commit()
    yield item

@pytest.fixture(scope="session")
def sized(request, db):
    note(f"sized-{request.param}")
    item = Item(name=f"size-{request.param}")
    db.session.add(item)
    db.session.commit()
    return item

@pytest.fixture(scope="session")
def seed(db):
    note("seed")
    db.session.add(Item(name="seed"))
    db.session.commit()
"""

PARAMS_MID_MODULE = """
import pytest
from shop import Item, db, names

@pytest.fixture(scope="module")
def shelf(db):
    db.session.add(Item(name="shelf"))
    db.session.commit()

def test_1_module_data_only(client, shelf):
    assert "shelf" in names()

def test_2_colour_joins(client, shelf, colour):
    assert db.session.get(Item, colour.id).name == colour.name
    assert {colour.name, "shelf"} <= set(names())

def test_3_module_data_whole(client, shelf):
    assert "shelf" in names()
"""

PARAMS_LATER_MODULE = """
from shop import Item, db, names

def test_colour_rows_are_there(client, colour):
    assert db.session.get(Item, colour.id) is not None
    assert colour.name in names()
    assert "shelf" not in names()
"""

INDIRECT = """
import pytest
from shop import Item, db, names

@pytest.fixture(scope="module")
def box(request, db):
    db.session.add(Item(name=f"box-{request.param}"))
    db.session.commit()
    return request.param

def test_1_plain(client):
    assert "shelf" not in names()

@pytest.mark.parametrize("sized", [1, 2], indirect=True)
def test_2_sized(client, sized):
    assert db.session.get(Item, sized.id) is not None
    assert sized.name in names()

class TestBoxes:
    def test_1_plain(self, client):
        assert "shelf" not in names()

    @pytest.mark.parametrize("box", ["a", "b"], indirect=True)
    def test_2_box(self, client, box):
        # A module fixture's param changing does not take the old param's rows.
        assert f"box-{box}" in names()
"""

INDIRECT_LATER = """
import pytest
from shop import names

@pytest.mark.parametrize("sized", [1, 2], indirect=True)
def test_sized_rows_are_there(client, sized):
    assert sized.name in names()
    assert not [name for name in names() if name.startswith(("box", "shelf"))]
"""

LATER_USE = """
from shop import names

def test_1_no_database():
    assert True

def test_2_seeded(client, seed):
    assert "seed" in names()

def test_3_plain(client):
    assert not [name for name in names() if name.startswith(("box", "shelf"))]
"""


def setups(shop) -> list[str]:
    log = shop.pytester.path / "setups.txt"
    return log.read_text().split() if log.exists() else []


def test_a_parametrized_session_fixture_first_used_mid_module_keeps_its_rows(shop):
    result = shop.run(
        "-v", conftest=CONFTEST, test_a=PARAMS_MID_MODULE, test_b=PARAMS_LATER_MODULE
    )
    result.assert_outcomes(passed=6)
    print(setups(shop))
    assert shop.count("item") == 0


def test_an_indirectly_parametrized_fixture_gets_its_param(shop):
    result = shop.run(conftest=CONFTEST, test_c=INDIRECT, test_d=INDIRECT_LATER)
    result.assert_outcomes(passed=8)
    assert shop.count("item") == 0


def test_a_later_tests_fixture_is_set_up_only_if_that_test_runs(shop):
    shop.pytester.makepyfile(conftest=CONFTEST, test_e=LATER_USE)
    shop.run("-k", "no_database").assert_outcomes(passed=1)
    assert setups(shop) == []
    shop.run("--deselect", "test_e.py::test_2_seeded", "-k", "not test_3").assert_outcomes(
        passed=1
    )
    assert setups(shop) == []
    # Selected, it is set up once, before the module's savepoint, even though the
    # module's first test uses no database.
    shop.run().assert_outcomes(passed=3)
    assert setups(shop) == ["seed"]
    assert shop.count("item") == 0


def test_last_failed_runs_set_up_only_what_the_failed_tests_need(shop):
    shop.pytester.makepyfile(
        conftest=CONFTEST,
        test_f="""
import os
from shop import names

def test_1_fails_once():
    assert os.path.exists("second-run")

def test_2_seeded(client, seed):
    assert "seed" in names()
""",
    )
    run = shop.pytester.runpytest
    url = f"--testbed-db-url={shop.database_url}"
    with pytest.MonkeyPatch.context() as mp:
        for key, value in shop.env.items():
            mp.setenv(key, value)
        run(url, "-p", "no:randomly").assert_outcomes(passed=1, failed=1)
        (shop.pytester.path / "setups.txt").unlink()
        (shop.pytester.path / "second-run").touch()
        run(url, "-p", "no:randomly", "--lf").assert_outcomes(passed=1)
    assert setups(shop) == []


EVERY_SHAPE = {
    "conftest": CONFTEST,
    "test_a": PARAMS_MID_MODULE,
    "test_b": PARAMS_LATER_MODULE,
    "test_c": INDIRECT,
    "test_d": INDIRECT_LATER,
    "test_e": LATER_USE,
}


@pytest.mark.parametrize(
    "order",
    [("-p", "randomly", f"--randomly-seed={seed}") for seed in (1, 2, 3)]
    + [("-n", "2", "-p", "no:randomly")],
    ids=["seed-1", "seed-2", "seed-3", "two-workers"],
)
def test_every_shape_holds_in_random_order_and_on_two_workers(shop, order):
    result = shop.run_subprocess(*order, **EVERY_SHAPE)
    result.assert_outcomes(passed=17)
    assert shop.count("item") == 0


def test_without_pytests_fixture_definitions_nothing_is_set_up_ahead_and_rows_hold(shop):
    # Forces the public path: the private fixture info is not there.
    conftest = CONFTEST + (
        "\nimport flask_testbed.wider as wider\nwider.definitions_of = lambda item: None\n"
    )
    result = shop.run_subprocess(
        "-p", "no:randomly", conftest=conftest,
        test_e=LATER_USE, test_g="""
from shop import names

def test_seed_is_there(client, seed):
    assert "seed" in names()
""",
    )
    result.assert_outcomes(passed=4)
    # Set up inside test_e.py's savepoint, torn down before it rolled back, set up again.
    assert setups(shop) == ["seed", "seed"]
    assert shop.count("item") == 0


def test_without_a_way_to_tear_a_fixture_down_the_user_is_told(shop):
    conftest = CONFTEST + (
        "\nimport flask_testbed.wider as wider\nwider.finisher_of = lambda fixturedef: None\n"
    )
    result = shop.run_subprocess(
        "-p", "no:randomly", conftest=conftest, test_a=PARAMS_MID_MODULE
    )
    result.stdout.fnmatch_lines(
        ["*session-scoped fixture 'colour' was set up inside test_a.py (its param comes from "
         "the test), so its rows are rolled back when test_a.py ends while pytest keeps it*"]
    )
    assert shop.count("item") == 0
