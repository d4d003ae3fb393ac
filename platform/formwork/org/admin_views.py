"""The administration pages under /admin: people, departments, roles and API tokens.

Plain forms (they work without JavaScript; htmx narrows the lists as a search is typed). Every
change goes through ``org.administration`` in one transaction: a refused one shows the page again
with the message beside the field (422) and nothing written; what is outside the administrator's
scope — or everything, for someone who administers nothing — is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import transaction
from ..input_limits import page_number
from . import admin_queries, administration
from .admin_scope import AdminScope, may_define_roles

admin_bp = Blueprint("admin", __name__, url_prefix="/admin")
PER_PAGE = 20
MAX_SEARCH = 200


def _scope() -> AdminScope:
    try:
        return administration.scope(current_user)
    except administration.OutOfScope:
        abort(404)


def _found(find: Callable[[Any, int], Any], ident: int) -> Any:
    try:
        return find(current_user, ident)
    except administration.OutOfScope:
        abort(404)


def _search() -> tuple[str, int]:
    return (request.args.get("q") or "")[:MAX_SEARCH], page_number(request.args.get("page"))


def _form() -> dict[str, str]:
    return {name: request.form.get(name, "") for name in request.form if name != "csrf_token"}


def _apply(
    change: Callable[[], Any], done: str, then: Callable[[Any], str], again: Callable[[dict[str, Any]], Any]
):
    """Run one change: on success flash ``done`` and go to ``then(result)``; refused: ``again(error)``."""
    try:
        with transaction():
            result = change()
    except administration.OutOfScope:
        abort(404)
    except administration.AdminRefused as exc:
        return again({"form": request.form.get("form", ""), "field": exc.field, "text": exc.message}), 422
    flash(done, "success")
    return redirect(then(result), code=303)


def _list_page(template: str, results: str, **context: Any):
    """A list page, or only its results for an htmx search (the list narrows as one types)."""
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "admin-results":
        return render_template(results, **context)
    return render_template(template, **context)


@admin_bp.get("/")
@login_required
def index():
    _scope()
    return redirect(url_for("admin.users"))


# ---- people ------------------------------------------------------------------------------------


@admin_bp.get("/users")
@login_required
def users():
    scope = _scope()
    q, page = _search()
    left = request.args.get("left") == "1"
    found = admin_queries.users(scope, q, page, PER_PAGE, left=left)
    return _list_page(
        "admin/users.html",
        "admin/_users_results.html",
        tab="users",
        found=found,
        q=q,
        left=left,
        link_filters={"q": q, **({"left": "1"} if left else {})},
    )


def _new_user_page(error: dict[str, Any] | None = None, values: dict[str, str] | None = None):
    scope = _scope()
    return render_template(
        "admin/user_new.html",
        tab="users",
        departments=admin_queries.department_choices(scope),
        everything=scope.everything,
        error=error,
        values=values or {},
    )


@admin_bp.route("/users/new", methods=["GET", "POST"])
@login_required
def new_user():
    if request.method == "GET":
        return _new_user_page()
    values = _form()
    return _apply(
        lambda: administration.create_user(current_user, values),
        _("The person was added."),
        lambda user: url_for("admin.user", user_id=user.id),
        lambda error: _new_user_page(error, values),
    )


def _user_page(user_id: int, error: dict[str, Any] | None = None, values: dict[str, str] | None = None):
    scope = _scope()
    user = _found(administration.find_user, user_id)
    return render_template(
        "admin/user.html",
        tab="users",
        person=user,
        grants=admin_queries.grants_of(scope, user),
        heads=administration.headed(user),
        tokens=admin_queries.tokens(scope, None, 1, PER_PAGE, user_id=user.id).items,
        departments=admin_queries.department_choices(scope),
        roles=admin_queries.all_roles(),
        everything=scope.everything,
        error=error,
        values=values or {},
    )


@admin_bp.get("/users/<int:user_id>")
@login_required
def user(user_id: int):
    return _user_page(user_id)


# form name -> the service call, given the acting administrator, the person's id and the form.
_USER_CHANGES: dict[str, Callable[..., Any]] = {
    "edit": lambda actor, uid, v: administration.edit_user(actor, uid, v),
    "move": lambda actor, uid, v: administration.move_user(
        actor, uid, v.get("department"), v.get("new_head")
    ),
    "manager": lambda actor, uid, v: administration.set_manager(actor, uid, v.get("manager")),
    "password": lambda actor, uid, v: administration.reset_password(actor, uid, v.get("password")),
    "grant": lambda actor, uid, v: administration.grant(actor, {**v, "user": uid}),
    "leave": lambda actor, uid, v: administration.leave(actor, uid, v.get("successor"), v.get("new_head")),
}
_USER_MESSAGES = {
    "edit": lambda: _("The details were saved."),
    "move": lambda: _("The person was moved."),
    "manager": lambda: _("The manager was saved."),
    "password": lambda: _("The password was set; the person's sessions ended."),
    "grant": lambda: _("The role was granted."),
    "leave": lambda: _(
        "The person has left: their sessions and tokens ended and their open tasks were handed over."
    ),
}


@admin_bp.post("/users/<int:user_id>/<any(edit, move, manager, password, grant, leave):change>")
@login_required
def change_user(user_id: int, change: str):
    _found(administration.find_user, user_id)
    values = _form()
    return _apply(
        lambda: _USER_CHANGES[change](current_user, user_id, values),
        _USER_MESSAGES[change](),
        lambda _result: url_for("admin.user", user_id=user_id),
        lambda error: _user_page(user_id, {**error, "form": change}, values),
    )


@admin_bp.post("/grants/<int:grant_id>/revoke")
@login_required
def revoke_grant(grant_id: int):
    grant = _found(administration.find_grant, grant_id)
    user_id = grant.user_id
    return _apply(
        lambda: administration.revoke(current_user, grant_id),
        _("The role was taken back."),
        lambda _result: url_for("admin.user", user_id=user_id),
        lambda error: _user_page(user_id, {**error, "form": "grants"}),
    )


# ---- departments -------------------------------------------------------------------------------


def _departments_page(error: dict[str, Any] | None = None, values: dict[str, str] | None = None):
    scope = _scope()
    q, page = _search()
    found = admin_queries.departments(scope, q, page, PER_PAGE)
    return _list_page(
        "admin/departments.html",
        "admin/_departments_results.html",
        tab="departments",
        found=found,
        q=q,
        link_filters={"q": q},
        departments=admin_queries.department_choices(scope),
        everything=scope.everything,
        error=error,
        values=values or {},
    )


@admin_bp.route("/departments", methods=["GET", "POST"])
@login_required
def departments():
    if request.method == "GET":
        return _departments_page()
    values = _form()
    return _apply(
        lambda: administration.create_department(current_user, values),
        _("The department was created."),
        lambda department: url_for("admin.department", department_id=department.id),
        lambda error: _departments_page({**error, "form": "create"}, values),
    )


def _department_page(
    department_id: int, error: dict[str, Any] | None = None, values: dict[str, str] | None = None
):
    scope = _scope()
    department = _found(administration.find_department, department_id)
    return render_template(
        "admin/department.html",
        tab="departments",
        department=department,
        departments=admin_queries.department_choices(scope),
        everything=scope.everything,
        error=error,
        values=values or {},
    )


@admin_bp.get("/departments/<int:department_id>")
@login_required
def department(department_id: int):
    return _department_page(department_id)


_DEPARTMENT_CHANGES: dict[str, Callable[..., Any]] = {
    "rename": lambda actor, did, v: administration.rename_department(actor, did, v),
    "move": lambda actor, did, v: administration.move_department(actor, did, v.get("parent")),
    "head": lambda actor, did, v: administration.set_department_head(actor, did, v.get("head")),
    "deactivate": lambda actor, did, v: administration.deactivate_department(actor, did),
}
_DEPARTMENT_MESSAGES = {
    "rename": lambda: _("The department was renamed."),
    "move": lambda: _("The department was moved."),
    "head": lambda: _("The head was saved; open tasks waiting on the head went to them."),
    "deactivate": lambda: _("The department was closed."),
}


@admin_bp.post("/departments/<int:department_id>/<any(rename, move, head, deactivate):change>")
@login_required
def change_department(department_id: int, change: str):
    _found(administration.find_department, department_id)
    values = _form()
    return _apply(
        lambda: _DEPARTMENT_CHANGES[change](current_user, department_id, values),
        _DEPARTMENT_MESSAGES[change](),
        lambda _result: url_for("admin.department", department_id=department_id),
        lambda error: _department_page(department_id, {**error, "form": change}, values),
    )


# ---- roles -------------------------------------------------------------------------------------


def _roles_page(error: dict[str, Any] | None = None, values: dict[str, str] | None = None):
    scope = _scope()
    q, page = _search()
    found = admin_queries.roles(q, page, PER_PAGE)
    return _list_page(
        "admin/roles.html",
        "admin/_roles_results.html",
        tab="roles",
        found=found,
        q=q,
        link_filters={"q": q},
        may_define=may_define_roles(scope),
        error=error,
        values=values or {},
    )


@admin_bp.route("/roles", methods=["GET", "POST"])
@login_required
def roles():
    if request.method == "GET":
        return _roles_page()
    values = _form()
    return _apply(
        lambda: administration.create_role(current_user, values),
        _("The role was created."),
        lambda _role: url_for("admin.roles"),
        lambda error: _roles_page({**error, "form": "create"}, values),
    )


def _role_page(role_id: int, error: dict[str, Any] | None = None, values: dict[str, str] | None = None):
    scope = _scope()
    role = _found(administration.find_role, role_id)
    return render_template(
        "admin/role.html",
        tab="roles",
        role=role,
        may_define=may_define_roles(scope),
        error=error,
        values=values or {},
    )


@admin_bp.route("/roles/<int:role_id>", methods=["GET", "POST"])
@login_required
def role(role_id: int):
    if request.method == "GET":
        return _role_page(role_id)
    values = _form()
    return _apply(
        lambda: administration.rename_role(current_user, role_id, values),
        _("The role was saved."),
        lambda _role: url_for("admin.role", role_id=role_id),
        lambda error: _role_page(role_id, {**error, "form": "rename"}, values),
    )


# ---- API tokens --------------------------------------------------------------------------------


def _tokens_page(error: dict[str, Any] | None = None, values: dict[str, str] | None = None, secret: str = ""):
    scope = _scope()
    q, page = _search()
    found = admin_queries.tokens(scope, q, page, PER_PAGE)
    return _list_page(
        "admin/tokens.html",
        "admin/_tokens_results.html",
        tab="tokens",
        found=found,
        q=q,
        link_filters={"q": q},
        error=error,
        values=values or {},
        secret=secret,
    )


@admin_bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    if request.method == "GET":
        return _tokens_page()
    values = _form()
    try:
        with transaction():
            secret = administration.create_own_token(current_user, values)
    except administration.OutOfScope:
        abort(404)
    except administration.AdminRefused as exc:
        return _tokens_page({"form": "create", "field": exc.field, "text": exc.message}, values), 422
    # Shown on this answer only (never stored, never in a redirect's URL): copy it now.
    return _tokens_page(secret=secret)


@admin_bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    token = _found(administration.find_token, token_id)
    back = request.form.get("back") == "user"
    user_id = token.user_id
    return _apply(
        lambda: administration.revoke_token(current_user, token_id),
        _("The token was revoked."),
        lambda _t: url_for("admin.user", user_id=user_id) if back else url_for("admin.tokens"),
        lambda error: _tokens_page(error),
    )
