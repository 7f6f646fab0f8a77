"""What every JSON endpoint shares: the error shape and reading a JSON body."""

from typing import Any

from flask import Flask, Response, abort, jsonify, request
from werkzeug.exceptions import HTTPException


def error(status: int, message: str) -> tuple[Response, int]:
    """The one error shape of the API: ``{"success": false, "message": ...}``."""
    return jsonify(success=False, message=message), status


def json_object() -> dict[str, Any]:
    """The request's JSON body, or a 400 when it is not a JSON object."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, description="expected a JSON object")
    return data


def register_error_handlers(app: Flask) -> None:
    """Answer ``abort()`` and unknown URLs in the API's error shape, not Werkzeug's HTML."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        return error(exc.code or 500, exc.description or exc.name)
