"""Application-wide error responses: JSON under /api, friendly HTML pages elsewhere.

No response ever carries a stack trace. Unexpected exceptions reach the 500 handler
through Flask's ``handle_exception`` (which logs them); in testing they propagate so
the failing test shows the real error.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

# Set on an in-page (htmx) request refused because the page's session is gone or its CSRF token is
# stale: the page keeps what was typed and offers to sign in again (static/js/formwork.js).
SESSION_HEADER = "X-Formwork-Session"
SESSION_EXPIRED = "expired"


def is_api_request() -> bool:
    """True for the JSON API (including unknown /api/... URLs)."""
    return request.path == "/api" or request.path.startswith("/api/")


# Short, plain messages for API clients; the HTML pages explain more.
_API_MESSAGES: dict[int, str] = {
    400: "bad request",
    401: "authentication required",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    413: "request body too large",
    422: "unprocessable request",
    429: "too many requests",
    500: "internal error",
}


def _page_text(code: int) -> tuple[str, str]:
    """Title and explanation for an HTML error page, in the interface language."""
    texts = {
        400: (_("Bad request"), _("The request could not be understood. Go back and try again.")),
        401: (_("Sign-in required"), _("Please sign in to continue.")),
        403: (_("Not allowed"), _("You do not have permission to open this page.")),
        404: (_("Page not found"), _("The page you asked for does not exist or has moved.")),
        405: (_("Not allowed"), _("This page cannot be used that way.")),
        413: (
            _("Too large"),
            _("What you sent is larger than the server accepts. Send a smaller file or fewer attachments."),
        ),
        422: (_("Cannot process"), _("The information sent could not be processed.")),
        429: (_("Too many requests"), _("Too many attempts. Wait a little and try again.")),
        500: (
            _("Something went wrong"),
            _("An unexpected error occurred. It has been logged; please try again later."),
        ),
    }
    return texts.get(code, (_("Error"), _("The request could not be completed.")))


def api_error(code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    response = jsonify({"error": message})
    response.status_code = code
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _extra_headers(exc: HTTPException) -> dict[str, str]:
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        return {"Allow": ", ".join(sorted(exc.valid_methods))}
    retry = getattr(exc, "retry_after", None)
    return {"Retry-After": str(retry)} if retry else {}


def handle_http_error(exc: HTTPException) -> Response | tuple[str, int]:
    code = exc.code or 500
    headers = _extra_headers(exc)
    if isinstance(exc, CSRFError):
        if is_api_request():
            refusal = "CSRF token missing or invalid: " + (exc.description or "")
            return api_error(400, refusal.strip(), headers)
        # The page's session ended (or it was signed in again elsewhere): an in-page request is
        # told so by a header, and the page offers to sign in again without losing what was typed.
        headers[SESSION_HEADER] = SESSION_EXPIRED
        title = _("The form has expired")
        text = _("For your security the form could not be accepted. Go back, reload the page and try again.")
        return _render_page(400, title, text, headers)
    if is_api_request():
        # Descriptions we set ourselves (abort(404, description=...)) are specific; keep them.
        default_description = type(exc).description
        message = exc.description if exc.description and exc.description != default_description else None
        return api_error(code, message or _API_MESSAGES.get(code, exc.name.lower()), headers)
    title, text = _page_text(code)
    if exc.description and exc.description != type(exc).description and code < 500:
        text = exc.description
    return _render_page(code, title, text, headers)


def _render_page(code: int, title: str, text: str, headers: dict[str, str]):
    try:
        body = render_template("errors/error.html", code=code, title=title, message=text)
    except Exception:  # an error page must never fail; fall back to plain text
        current_app.logger.exception("error page failed to render")
        body = f"<!doctype html><title>{code}</title><h1>{code}</h1>"
    response = current_app.response_class(body, status=code, mimetype="text/html")
    for name, value in headers.items():
        response.headers[name] = value
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
