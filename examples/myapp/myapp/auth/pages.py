"""The sign-in page: an HTML form for people, next to the JSON login for programs.

It checks the credentials and sets the very cookies ``POST /login`` sets
(:func:`.tokens.log_in`), so every page and every JSON endpoint accepts a
browser signed in here.
"""

from urllib.parse import urlsplit

from flask import Blueprint, Response, redirect, render_template, request

from ..extensions import db
from .credentials import LoginRefused, authenticate
from .tokens import log_in

bp = Blueprint("auth_pages", __name__, template_folder="templates")


@bp.get("/sign-in")
def sign_in() -> str:
    return render_template("auth/sign_in.html", next=request.args.get("next", ""))


@bp.post("/sign-in")
def sign_in_submit() -> Response | tuple[str, int]:
    form = request.form
    try:
        user = authenticate(form.get("email", ""), form.get("password", ""))
    except LoginRefused as refused:
        page = render_template(
            "auth/sign_in.html", error=str(refused), email=form.get("email", ""),
            next=form.get("next", ""),
        )
        return page, refused.status
    response = redirect(local_path(form.get("next")), code=303)
    log_in(response, user)
    db.session.commit()
    return response


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site, else ``default``.

    The page to return to after signing in comes from the URL (``?next=``),
    which anyone can write: following it anywhere would send a freshly signed-in
    user to a look-alike site (an open redirect).
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return default
    return target
