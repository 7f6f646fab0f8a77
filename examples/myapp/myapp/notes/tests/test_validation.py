"""What a valid note is: the rules alone, no app, no database (unit tests).

The JSON API and the notes page both apply these rules; here they are
checked directly, each in microseconds, so the API and page tests need only
one or two cases each to show the rules are wired in.
"""

import pytest

from myapp.notes.models import TITLE_MAX_LENGTH
from myapp.notes.validation import InvalidNote, validate_note


def test_a_new_note_keeps_its_fields_with_the_title_trimmed() -> None:
    fields = validate_note({"title": "  Groceries \n", "body": " milk "}, partial=False)

    # The body is the user's text, spaces and all; the title is a label.
    assert fields == {"title": "Groceries", "body": " milk "}


def test_a_body_is_optional() -> None:
    assert validate_note({"title": "Just a title"}, partial=False) == {"title": "Just a title"}


def test_an_update_may_leave_the_title_out() -> None:
    assert validate_note({"body": "bread"}, partial=True) == {"body": "bread"}


def test_a_title_of_the_maximum_length_is_accepted() -> None:
    title = "x" * TITLE_MAX_LENGTH

    assert validate_note({"title": title}, partial=False)["title"] == title


@pytest.mark.parametrize(
    ("data", "partial", "message"),
    [
        ({}, False, "a title is required"),
        ({"body": "no title"}, False, "a title is required"),
        ({}, True, "nothing to update"),
        ({"title": ""}, False, "the title cannot be blank"),
        ({"title": " \t\n"}, True, "the title cannot be blank"),
        ({"title": "x" * (TITLE_MAX_LENGTH + 1)}, False, "longer than 200 characters"),
        ({"title": 42}, False, "title must be a string"),
        ({"title": "ok", "body": None}, False, "body must be a string"),
        ({"title": "ok", "color": "red", "id": 3}, False, "unknown fields: color, id"),
    ],
)
def test_invalid_notes_are_refused_with_a_reason(
    data: dict[str, object], partial: bool, message: str
) -> None:
    with pytest.raises(InvalidNote, match=message):
        validate_note(data, partial=partial)


def test_a_refusal_is_a_value_error() -> None:
    # Callers that only know ValueError (a form library, a CLI) still catch it.
    assert issubclass(InvalidNote, ValueError)
