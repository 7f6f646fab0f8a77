"""The notes page: the signed-in user's notes, a form to add one, a button to delete each.

Server-rendered HTML over the same rules as the JSON API: the same query
(:func:`.routes.own_notes`), the same validation (:func:`.validation.validate_note`),
the same ownership check (:func:`.routes.own_note`). A refused note is shown
again with its message and a 400, with what the user typed kept. Forms carry
the CSRF token the access cookie's claims hold, which production requires on
every post (``JWT_CSRF_CHECK_FORM``).
"""

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_jwt_extended import get_jwt

from ..auth import current_user
from ..auth.guards import page_login_required
from ..extensions import db
from .models import Note
from .routes import own_note, own_notes
from .validation import InvalidNote, validate_note

bp = Blueprint("notes_pages", __name__, url_prefix="/my-notes", template_folder="templates")


@bp.get("")
@page_login_required
def index() -> str:
    return notes_page()


@bp.post("")
@page_login_required
def add() -> Response | tuple[str, int]:
    typed = {name: request.form.get(name, "") for name in ("title", "body")}
    try:
        fields = validate_note(typed, partial=False)
    except InvalidNote as refused:
        return notes_page(error=str(refused), typed=typed), 400
    db.session.add(Note(owner=current_user(), **fields))
    db.session.commit()
    return redirect(url_for("notes_pages.index"), code=303)


@bp.post("/<int:note_id>/delete")
@page_login_required
def delete(note_id: int) -> Response:
    db.session.delete(own_note(note_id))
    db.session.commit()
    return redirect(url_for("notes_pages.index"), code=303)


def notes_page(error: str | None = None, typed: dict[str, str] | None = None) -> str:
    return render_template(
        "notes/index.html", user=current_user(), notes=own_notes(), error=error,
        typed=typed or {}, csrf_token=get_jwt().get("csrf", ""),
    )
