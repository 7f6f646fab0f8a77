"""What makes a note valid, in one pure function the JSON API and the pages share.

It needs no app and no request: the rules are tested on their own (unit
tests), and each caller turns a refusal into its own answer (a JSON 400, a
form shown again with the message).
"""

from typing import Any

from .models import TITLE_MAX_LENGTH

FIELDS = ("title", "body")


class InvalidNote(ValueError):
    """A note payload the app refuses; the message says why, for the user."""


def validate_note(data: dict[str, Any], partial: bool) -> dict[str, str]:
    """The valid fields of a note payload, the title trimmed; :class:`InvalidNote` otherwise.

    ``partial`` (an update) allows leaving the title out; a new note needs one.
    """
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise InvalidNote(f"unknown fields: {', '.join(unknown)}")
    fields = {name: data[name] for name in FIELDS if name in data}
    if not partial and "title" not in fields:
        raise InvalidNote("a title is required")
    if not fields:
        raise InvalidNote("nothing to update: send a title or a body")
    for name, value in fields.items():
        if not isinstance(value, str):
            raise InvalidNote(f"{name} must be a string")
    if "title" in fields:
        fields["title"] = fields["title"].strip()
        if not fields["title"]:
            raise InvalidNote("the title cannot be blank")
        if len(fields["title"]) > TITLE_MAX_LENGTH:
            raise InvalidNote(f"the title is longer than {TITLE_MAX_LENGTH} characters")
    return fields
