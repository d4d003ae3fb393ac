"""Signing in and out: the /login and /logout views and the Flask-Login loaders."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..audit import actions, trail
from ..config import DEMO_PASSWORD
from ..extensions import db, login_manager, transaction
from ..i18n import _local_path
from . import sessions, throttle, tokens
from .errors import SESSION_EXPIRED, SESSION_HEADER, is_api_request
from .models import User
from .security import bearer_token_from_request

auth_bp = Blueprint("auth", __name__)

HOME_PATH = "/"


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site; anything else (other hosts, ``//x``, ``\\x``) is dropped."""
    return _local_path(target)


@dataclass(frozen=True)
class SignInResult:
    user: User | None = None
    locked_seconds: int = 0
    locked_address: bool = False  # the client's address is locked, rather than the user name

    @property
    def ok(self) -> bool:
        return self.user is not None


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    # Checked against when the user name is unknown, so the answer takes as long either way.
    return generate_password_hash("formwork-decoy-password")


def find_user(username: str) -> User | None:
    name = username.strip().lower()
    if not name:
        return None
    return db.session.scalar(select(User).where(func.lower(User.username) == name))


def authenticate(username: str, password: str, address: str | None = None) -> SignInResult:
    """Check credentials with throttling by user name and by client ``address``.

    Unknown, wrong, passwordless and departed all look alike. A locked address is refused
    without counting against the name; a locked name is refused even with the right
    password, and the attempt counts against the address.
    """
    claim = throttle.claim_attempt(username, address)  # counted before the check: see org.throttle
    if not claim.allowed:
        _audit_failure(username, address, None, locked=True)
        return SignInResult(locked_seconds=claim.lock.seconds, locked_address=claim.lock.by_address)
    user = find_user(username)
    if user is not None and user.password_hash:
        password_ok = check_password_hash(user.password_hash, password)
    else:
        check_password_hash(_decoy_hash(), password)
        password_ok = False
    if password_ok and user is not None and user.active:
        # Written by the commit that clears the failures (and the sign-in's own, should that one fail).
        _audit_user(actions.SIGN_IN, user, address)
        throttle.attempt_succeeded(username, address, claim)
        return SignInResult(user=user)
    _audit_failure(username, address, user, locked=bool(claim.lock.seconds))
    return SignInResult(locked_seconds=claim.lock.seconds, locked_address=claim.lock.by_address)


def _audit_user(action: str, user: Any, address: str | None, details: Any = None) -> None:
    trail.append(
        action,
        actor=user,
        object_type="user",
        object_id=user.id,
        department_id=user.department_id,
        details=details,
        address=address,
    )


def _audit_failure(username: str, address: str | None, user: User | None, *, locked: bool) -> None:
    """A refused sign-in, in a transaction of its own (nothing else is written by a refusal): the name
    typed, the address, and whether a lock refused it; never the password."""
    with transaction():
        trail.append(
            actions.SIGN_IN_FAILED,
            actor=user,
            actor_label=username.strip()[: trail.MAX_LABEL],
            object_type="user" if user is not None else None,
            object_id=user.id if user is not None else None,
            department_id=user.department_id if user is not None else None,
            details={"locked": True} if locked else None,
            address=address,
        )


def _lock_message(seconds: int, by_address: bool = False) -> str:
    minutes = max(1, -(-seconds // 60))
    if by_address:
        return _(
            "Too many failed sign-in attempts from your network address. Sign-in is locked for %(minutes)s "
            "minute(s).",
            minutes=minutes,
        )
    return _(
        "Too many failed sign-in attempts for this user name. Sign-in is locked for %(minutes)s minute(s).",
        minutes=minutes,
    )


def _demo_users() -> list[User]:
    if not current_app.config.get("FORMWORK_DEMO"):
        return []
    return list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)))


@auth_bp.route("/login", methods=["GET", "POST"])
def login():
    next_path = safe_next(request.values.get("next"))
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(next_path or HOME_PATH)
    error: str | None = None
    status = 200
    username = ""
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        result = authenticate(username, password, request.remote_addr) if username and password else None
        if result is not None and result.ok:
            assert result.user is not None
            locale = session.get("locale")
            session.clear()  # a fresh session (and CSRF secret) for the signed-in user
            if locale:
                session["locale"] = locale
            sessions.start(result.user)
            db.session.commit()
            login_user(result.user)
            return redirect(next_path or HOME_PATH)
        if result is not None and result.locked_seconds:
            error, status = _lock_message(result.locked_seconds, result.locked_address), 429
        else:
            error = _("Incorrect user name or password.")
    return (
        render_template(
            "auth/login.html",
            error=error,
            username=username,
            next_path=next_path,
            demo_users=_demo_users(),
            demo_password=_demo_password_hint(),
        ),
        status,
    )


def _demo_password_hint() -> str | None:
    if not current_app.config.get("FORMWORK_DEMO"):
        return None
    return DEMO_PASSWORD


@auth_bp.get("/session")
def session_state():
    """Whether this browser is signed in, and a CSRF token for its current session.

    A page whose session ended signs in again without leaving (static/js/formwork.js): it reads a
    token here, posts the sign-in form with it, and reads here again for the new session's token,
    which then replaces the stale one on the page so what was typed can be saved.
    """
    response = jsonify(
        {
            "authenticated": bool(current_user.is_authenticated),
            "username": current_user.username if current_user.is_authenticated else None,
            "csrf_token": generate_csrf(),
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _signed_out(message: str):
    locale = session.get("locale")
    logout_user()
    session.clear()
    if locale:
        session["locale"] = locale
    flash(message, "info")
    return redirect(url_for("auth.login"))


@auth_bp.post("/logout")
def logout():
    # The session's row goes, so a copy of this cookie taken earlier no longer signs anyone in.
    if current_user.is_authenticated:
        _audit_user(actions.SIGN_OUT, current_user, request.remote_addr)
    sessions.end_current()
    db.session.commit()
    return _signed_out(_("You have signed out."))


@auth_bp.post("/logout/everywhere")
@login_required
def logout_everywhere():
    """End every session of the signed-in person: other browsers, other devices and this one."""
    _audit_user(actions.SIGN_OUT, current_user, request.remote_addr, {"everywhere": True})
    sessions.end_all(current_user)
    db.session.commit()
    return _signed_out(_("You have signed out on every device."))


def _load_session_user(user_id: str) -> User | None:
    """Reload the session's user on every request, through the session's row in the database:
    a session that was ended, or whose user has left, is signed out at once on every worker."""
    try:
        wanted = int(user_id)
    except (TypeError, ValueError):
        return None
    return sessions.user_of_session(wanted)


def _load_bearer_user(_request: Any) -> User | None:
    if g.get("bearer_user") is not None:
        return g.bearer_user
    token = bearer_token_from_request()
    return tokens.user_for_token(token) if token else None


def _unauthorized():
    if is_api_request():
        response = jsonify({"error": "authentication required"})
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="formwork"'
        return response
    login_url = url_for("auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None)
    if request.headers.get("HX-Request"):
        response = current_app.response_class(status=401)
        if request.method == "GET":
            # htmx would swap the login page into a fragment; ask it to navigate instead.
            response.headers["HX-Redirect"] = login_url
        else:
            # Leaving would lose what the page holds; it offers to sign in in place instead.
            response.headers[SESSION_HEADER] = SESSION_EXPIRED
        return response
    flash(_("Please sign in to continue."), "info")
    return redirect(login_url)


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Please sign in to continue.")
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_session_user)
    login_manager.request_loader(_load_bearer_user)
    login_manager.unauthorized_handler(_unauthorized)
    app.register_blueprint(auth_bp)
