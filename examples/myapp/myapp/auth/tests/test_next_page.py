"""Where the sign-in page sends the browser afterwards (unit tests: no app).

``?next=`` comes from a URL anyone can write: only a path on this site is
followed, or a phishing link could land a freshly signed-in user elsewhere.
"""

import pytest

from myapp.auth.pages import local_path


@pytest.mark.parametrize("target", ["/my-notes", "/my-notes?page=2", "/"])
def test_a_path_on_this_site_is_followed(target: str) -> None:
    assert local_path(target) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "https://evil.example/my-notes",
        "//evil.example/my-notes",
        "/\\evil.example",
        "javascript:alert(1)",
        "my-notes",
    ],
    ids=repr,
)
def test_anything_else_goes_home(target: str | None) -> None:
    assert local_path(target) == "/"
    assert local_path(target, default="/my-notes") == "/my-notes"
