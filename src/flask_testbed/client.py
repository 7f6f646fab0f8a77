"""The test client the fixtures hand out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask.testing import FlaskClient


class TestbedClient(FlaskClient):
    """Flask's test client, plus ``cookies=`` on a single request.

    Suites written against older clients send cookies per request
    (``client.post("/logout", cookies={"refresh_token_cookie": token})``);
    Werkzeug 3 only has a cookie jar. The cookies are put in the jar for the
    request and taken out after it, unless the response set them itself.
    """

    __test__ = False

    def open(self, *args: Any, cookies: Mapping[str, str] | None = None, **kwargs: Any) -> Any:
        if not cookies:
            return super().open(*args, **kwargs)
        before = {key: self.get_cookie(key) for key in cookies}
        for key, value in cookies.items():
            self.set_cookie(key, value)
        try:
            return super().open(*args, **kwargs)
        finally:
            for key, value in cookies.items():
                current = self.get_cookie(key)
                if current is None or current.value != value:
                    continue  # the response changed it: keep the response's word
                previous = before[key]
                if previous is None:
                    self.delete_cookie(key)
                else:
                    self.set_cookie(key, previous.value)


def make_client(app: Flask) -> FlaskClient:
    """The app's own test client class if it has one, else :class:`TestbedClient`."""
    client_class = app.test_client_class or TestbedClient
    return client_class(app, app.response_class, use_cookies=True)
