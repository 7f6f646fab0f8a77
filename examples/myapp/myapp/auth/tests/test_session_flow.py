"""A whole session, step by step, on one client.

Module scope for a sequential flow: the tests share the client (its cookies)
and the database, in file order, each building on the one before. Whatever
the module wrote is gone when it ends.
"""

from flask.testing import FlaskClient

CREDENTIALS = {"email": "flow@example.com", "password": "a long password"}


def test_register(test_client_module: FlaskClient) -> None:
    assert test_client_module.post("/register", json=CREDENTIALS).status_code == 201


def test_login(test_client_module: FlaskClient) -> None:
    response = test_client_module.post("/login", json=CREDENTIALS)

    assert response.status_code == 200
    assert test_client_module.get_cookie("refresh_token_cookie") is not None


def test_me(test_client_module: FlaskClient) -> None:
    me = test_client_module.get("/me").json
    assert me is not None
    assert me["user"]["email"] == "flow@example.com"


def test_refresh(test_client_module: FlaskClient) -> None:
    assert test_client_module.post("/refresh").status_code == 200


def test_logout_clears_the_cookies(test_client_module: FlaskClient) -> None:
    assert test_client_module.post("/logout").status_code == 200
    assert test_client_module.get_cookie("access_token_cookie") is None
    assert test_client_module.get_cookie("refresh_token_cookie") is None


def test_me_after_logout_needs_a_new_login(test_client_module: FlaskClient) -> None:
    assert test_client_module.get("/me").status_code == 401
    assert test_client_module.post("/login", json=CREDENTIALS).status_code == 200
    assert test_client_module.get("/me").status_code == 200
