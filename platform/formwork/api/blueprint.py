"""The API's blueprint under /api and its errors: always JSON ``{"error": ...}``, never a stack trace."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from werkzeug.exceptions import HTTPException

api_bp = Blueprint("api", __name__, url_prefix="/api")


def error_response(status: int, error: str, **extra):
    body = {"error": error}
    body.update(extra)
    return jsonify(body), status


@api_bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return error_response(exc.code or 500, exc.description or exc.name)


@api_bp.errorhandler(Exception)
def _unexpected(exc: Exception):  # never a stack trace to an API client
    current_app.logger.exception("unhandled error in API")
    return error_response(500, "internal error")
