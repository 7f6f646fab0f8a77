"""The sign-in page: the form a browser posts, answered with cookies or the form again."""

from flask.testing import FlaskClient

from myapp.auth.tests.factories import PASSWORD
from myapp.models import User


def test_the_form_is_served(test_client: FlaskClient) -> None:
    response = test_client.get("/sign-in?next=/my-notes")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<form id="sign-in"' in page
    assert 'name="next" value="/my-notes"' in page


def test_signing_in_sets_the_json_logins_cookies_and_goes_on(
    test_client: FlaskClient, auth_test_user: User
) -> None:
    response = test_client.post(
        "/sign-in", data={"email": "User1@Example.com", "password": PASSWORD, "next": "/my-notes"}
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/my-notes"
    # The same cookies POST /login sets: the JSON API accepts this browser too.
    me = test_client.get("/me").json
    assert me is not None
    assert me["user"]["email"] == "user1@example.com"


def test_a_next_page_elsewhere_is_not_followed(
    test_client: FlaskClient, auth_test_user: User
) -> None:
    response = test_client.post(
        "/sign-in",
        data={"email": auth_test_user.email, "password": PASSWORD, "next": "https://evil.example/"},
    )

    assert response.headers["Location"] == "/"


def test_a_wrong_password_shows_the_form_again_with_the_reason(
    test_client: FlaskClient, auth_test_user: User
) -> None:
    response = test_client.post(
        "/sign-in", data={"email": auth_test_user.email, "password": "not it"}
    )

    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "invalid email or password" in page
    assert f'value="{auth_test_user.email}"' in page  # what was typed is kept
    assert test_client.get_cookie("access_token_cookie") is None
