"""A client_module flow runs in the order it is written, whatever shuffles the tests."""

FLOW = """
from shop import Item, db


def test_1_create(client_module):
    assert client_module.post("/items", json={"name": "first"}).status_code == 201


def test_2_read(client_module):
    assert client_module.get("/items").json == ["first"]


def test_3_add(client_module):
    assert client_module.post("/items", json={"name": "second"}).status_code == 201


def test_4_both(client_module):
    assert client_module.get("/items").json == ["first", "second"]


class TestLater:
    def test_5_still_both(self, client_module):
        assert client_module.get("/items").json == ["first", "second"]
"""

OTHERS = """
ORDER = []


def test_a(db_session):
    ORDER.append("a")


def test_b(db_session):
    ORDER.append("b")


def test_c(db_session):
    ORDER.append("c")


def test_d(db_session):
    ORDER.append("d")


def test_e_order():
    print("ORDER=" + "".join(ORDER))
"""


def test_a_flow_keeps_its_order_under_pytest_randomly(shop):
    orders = set()
    for seed in (1, 2, 3, 4, 5):
        result = shop.run_subprocess(
            "-p", "randomly", f"--randomly-seed={seed}", "-s",
            test_flow_shuffled=FLOW, test_others=OTHERS,
        )
        result.assert_outcomes(passed=10)
        orders.update(
            line.split("ORDER=")[1] for line in result.stdout.lines if "ORDER=" in line
        )
    # pytest-randomly did shuffle the other tests: the flow was kept on purpose.
    assert len(orders) > 1, orders
