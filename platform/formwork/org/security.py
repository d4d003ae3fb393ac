"""Request guards that apply to every request: body size, NUL characters, bearer tokens, CSRF,
security headers.

CSRF protection is switched off in Flask-WTF's automatic hook (``WTF_CSRF_CHECK_DEFAULT``)
and applied here instead, so that requests authenticated with a valid bearer token are
exempt: browsers never attach an ``Authorization`` header cross-site on their own, so such
requests cannot be forged by another page.
"""

from __future__ import annotations

from flask import Flask, Response, abort, current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, Unauthorized

from ..extensions import csrf, login_manager
from ..input_limits import NUL
from . import tokens
from .errors import is_api_request

STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


def bearer_token_from_request() -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, if the request has one."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or ""


def _limit_body_size() -> None:
    """Refuse an over-long body before anything reads it, with a message that says why."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    length = request.content_length
    if limit and length is not None and length > limit:
        raise RequestEntityTooLarge(
            description=_(
                "The request body is %(size)s bytes; the limit is %(limit)s bytes.", size=length, limit=limit
            )
        )


FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _shown(name: str) -> str:
    return name.replace(NUL, "\\0")[:100]


def _place_of_nul() -> str | None:
    """Where the request carries a NUL character, in words; None when it carries none.

    PostgreSQL cannot hold NUL in text, so a NUL that reached a query or a stored value was
    a server error. JSON bodies are checked where they are parsed (``input_limits.load_json``).
    """
    if NUL in request.path:
        return _("the address")
    for name, value in request.headers.items():
        if NUL in value:
            return _('the header "%(name)s"', name=_shown(name))
    for name, value in request.args.items(multi=True):
        if NUL in name or NUL in value:
            return _('the query parameter "%(name)s"', name=_shown(name))
    if request.method in STATE_CHANGING_METHODS and request.mimetype in FORM_MIMETYPES:
        for name, value in request.form.items(multi=True):
            if NUL in name or NUL in value:
                return _('the field "%(name)s"', name=_shown(name))
        for name, upload in request.files.items(multi=True):
            if NUL in name or NUL in (upload.filename or ""):
                return _('the file name in "%(name)s"', name=_shown(name))
    return None


def _refuse_nul() -> None:
    place = _place_of_nul()
    if place is not None:
        raise BadRequest(
            description=_(
                "The request was refused: %(place)s contains the NUL character, which is not allowed.",
                place=place,
            )
        )


def _authenticate_bearer() -> None:
    """Resolve a bearer token to its user for this request; a bad token is a 401, not a fallback."""
    token = bearer_token_from_request()
    if token is None:
        return
    user = tokens.user_for_token(token)
    if user is None:
        raise Unauthorized(description="invalid, expired or revoked token")
    g.bearer_user = user
    # The token, not any cookie that came along, decides who this request acts for.
    login_manager._update_request_context_with_user(user)


def _check_csrf() -> None:
    if request.method not in STATE_CHANGING_METHODS:
        return
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if g.get("bearer_user") is not None:
        return
    if is_api_request() and not current_user.is_authenticated:
        # No credentials at all: the API's answer is 401 with its error body and a
        # WWW-Authenticate challenge, not a browser's "form expired". A signed-in browser
        # session writing to the API still needs its CSRF token.
        abort(login_manager.unauthorized())
    csrf.protect()


def fresh_request_globals() -> None:
    """Start every request with an empty ``g``.

    In production each request gets its own application context. Under a test client that
    runs inside an outer ``app.app_context()``, Flask reuses that context, so ``g`` would
    carry the previous request's signed-in user, CSRF token and locale into the next one.
    """
    if g.get("_formwork_request_seen"):
        for name in list(g):
            g.pop(name, None)
    g._formwork_request_seen = True


def guard_request() -> None:
    _limit_body_size()
    _refuse_nul()
    _authenticate_bearer()
    _check_csrf()


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def init_app(app: Flask) -> None:
    # Flask-WTF's own hook would check bearer requests too; ``guard_request`` decides instead.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    # First of all hooks, so nothing sees a previous request's globals.
    app.before_request_funcs.setdefault(None, []).insert(0, fresh_request_globals)
    app.before_request(guard_request)
    app.after_request(add_security_headers)
