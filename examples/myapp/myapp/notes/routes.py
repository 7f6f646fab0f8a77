"""JSON CRUD for the logged-in user's own notes.

Another user's note answers 404, exactly like a note that does not exist:
a 403 would tell the caller that the id is taken.
"""

from typing import Any

from flask import Blueprint, Response, abort, jsonify, url_for
from sqlalchemy import select

from ..api import json_object
from ..auth import current_user, login_required
from ..extensions import db
from .models import Note
from .validation import InvalidNote, validate_note

bp = Blueprint("notes", __name__, url_prefix="/notes")


@bp.get("")
@login_required
def list_notes() -> Response:
    return jsonify(notes=[note.to_dict() for note in own_notes()])


@bp.post("")
@login_required
def create_note() -> tuple[Response, int, dict[str, str]]:
    fields = note_fields(json_object(), partial=False)
    note = Note(owner=current_user(), **fields)
    db.session.add(note)
    db.session.commit()
    location = url_for("notes.get_note", note_id=note.id)
    return jsonify(note.to_dict()), 201, {"Location": location}


@bp.get("/<int:note_id>")
@login_required
def get_note(note_id: int) -> Response:
    return jsonify(own_note(note_id).to_dict())


@bp.patch("/<int:note_id>")
@login_required
def update_note(note_id: int) -> Response:
    note = own_note(note_id)
    for name, value in note_fields(json_object(), partial=True).items():
        setattr(note, name, value)
    db.session.commit()
    return jsonify(note.to_dict())


@bp.delete("/<int:note_id>")
@login_required
def delete_note(note_id: int) -> tuple[str, int]:
    db.session.delete(own_note(note_id))
    db.session.commit()
    return "", 204


def own_notes() -> list[Note]:
    """The current user's notes, oldest first."""
    query = select(Note).filter_by(user_id=current_user().id).order_by(Note.id)
    return list(db.session.scalars(query))


def own_note(note_id: int) -> Note:
    """The current user's note ``note_id``; 404 for anyone else's."""
    note = db.session.scalar(select(Note).filter_by(id=note_id, user_id=current_user().id))
    if note is None:
        abort(404, description="note not found")
    return note


def note_fields(data: dict[str, Any], partial: bool) -> dict[str, str]:
    """The valid fields of a note payload; 400 for anything else."""
    try:
        return validate_note(data, partial)
    except InvalidNote as exc:
        abort(400, description=str(exc))
