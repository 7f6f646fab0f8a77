"""Validating a note payload on its own: unit tests, no app, no database.

They use none of the plugin's fixtures, so the plugin marks them ``unit``:
``pytest -m unit`` runs them, and only them, in well under a second.
"""

import pytest
from werkzeug.exceptions import BadRequest

from myapp.notes.models import TITLE_MAX_LENGTH
from myapp.notes.routes import note_fields


def test_title_is_stripped_and_body_kept() -> None:
    assert note_fields({"title": "  Groceries ", "body": " milk "}, partial=False) == {
        "title": "Groceries",
        "body": " milk ",
    }


def test_a_partial_update_may_leave_the_title_out() -> None:
    assert note_fields({"body": "eggs"}, partial=True) == {"body": "eggs"}


@pytest.mark.parametrize(
    ("data", "partial", "message"),
    [
        ({"body": "no title"}, False, "a title is required"),
        ({}, True, "nothing to update: send a title or a body"),
        ({"title": "x", "owner": 2}, False, "unknown fields: owner"),
        ({"title": 7}, False, "title must be a string"),
        ({"title": "   "}, False, "the title cannot be blank"),
        (
            {"title": "x" * (TITLE_MAX_LENGTH + 1)},
            False,
            f"the title is longer than {TITLE_MAX_LENGTH} characters",
        ),
    ],
)
def test_an_invalid_payload_is_a_400_that_says_why(
    data: dict[str, object], partial: bool, message: str
) -> None:
    with pytest.raises(BadRequest) as raised:
        note_fields(data, partial=partial)
    assert raised.value.description == message
