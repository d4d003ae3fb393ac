"""Administration through the API: departments, people, role grants, roles and API tokens.

The same service functions as the pages (``org.administration``), so the same rules hold: a
delegated administrator reaches their departments and below only, and anything outside — or
anything at all, for someone who administers nothing — is a 404, like an id that does not exist.
A refused change is a 422 naming the field (``field`` and ``errors``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, current_app, jsonify
from flask_login import current_user, login_required

from ..extensions import transaction
from ..org import admin_queries, administration
from ..org.admin_scope import AdminScope
from ..org.clock import as_utc
from ..org.models import ApiToken, Department, Role, RoleAssignment, User
from .blueprint import api_bp, error_response
from .spec import (
    DATE_TIME,
    ID,
    PAGING,
    Param,
    body,
    component,
    error,
    nullable,
    obj,
    operation,
    page_arguments,
    query_args,
    reply,
)

TAG = "administration"
TEXT = {"type": "string", "maxLength": 200}
REF = {
    "type": ["integer", "string", "null"],
    "maxLength": 100,
    "description": "An id, or a code / user name.",
}
SEARCH = {"q": Param({"type": "string", "maxLength": 200}, "Text to search for."), **PAGING}
NOT_FOUND = error("No such object within what the caller administers (or the caller administers nothing).")
REFUSED = error("The change was refused; field and errors name the input and why.")

DEPARTMENT = component(
    "AdminDepartment",
    obj(
        {
            "id": ID,
            "code": {"type": "string"},
            "name_zh": {"type": "string"},
            "name_en": {"type": "string"},
            "parent": nullable(ID),
            "head": nullable({"type": "string", "description": "The head's user name."}),
            "active": {"type": "boolean"},
            "depth": {"type": "integer", "minimum": 0},
        },
        optional=("depth",),
    ),
)
GRANT = component(
    "AdminGrant",
    obj(
        {
            "id": ID,
            "user": {"type": "string"},
            "role": {"type": "string"},
            "department": nullable({"type": "string", "description": "The code the grant is limited to."}),
            "granted_at": DATE_TIME,
            "expires_at": nullable(
                {**DATE_TIME, "description": "When a grant until a date ends (the end of that business day)."}
            ),
            "reason": nullable({"type": "string"}),
        }
    ),
)
USER = component(
    "AdminUser",
    obj(
        {
            "id": ID,
            "username": {"type": "string"},
            "display_name": {"type": "string"},
            "email": nullable({"type": "string"}),
            "department": nullable({"type": "string"}),
            "manager": nullable({"type": "string"}),
            "active": {"type": "boolean"},
            "heads": {"type": "array", "items": {"type": "string"}},
            "grants": {"type": "array", "items": GRANT},
        },
        optional=("grants", "heads"),
    ),
)
ROLE = component(
    "AdminRole",
    obj(
        {
            "id": ID,
            "key": {"type": "string"},
            "name_zh": {"type": "string"},
            "name_en": {"type": "string"},
            "description": nullable({"type": "string"}),
        }
    ),
)
TOKEN = component(
    "AdminToken",
    obj(
        {
            "id": ID,
            "user": {"type": "string"},
            "name": {"type": "string"},
            "created_at": DATE_TIME,
            "expires_at": nullable(DATE_TIME),
            "revoked_at": nullable(DATE_TIME),
            "last_used_at": nullable(DATE_TIME),
        }
    ),
)


def _page(items: list[Any], page: admin_queries.Page[Any]) -> dict[str, Any]:
    return {"items": items, "total": page.total, "page": page.page, "per_page": page.per_page}


def _listing(schema: dict[str, Any]) -> dict[str, Any]:
    return obj(
        {
            "items": {"type": "array", "items": schema},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
        }
    )


def _iso(moment: Any) -> str | None:
    # SQLite reads timestamps back naive: they were written as UTC.
    return as_utc(moment).isoformat() if moment is not None else None


def department_json(department: Department, depth: int | None = None) -> dict[str, Any]:
    data = {
        "id": department.id,
        "code": department.code,
        "name_zh": department.name_zh,
        "name_en": department.name_en,
        "parent": department.parent_id,
        "head": department.head.username if department.head else None,
        "active": bool(department.active),
    }
    if depth is not None:
        data["depth"] = depth
    return data


def grant_json(grant: RoleAssignment) -> dict[str, Any]:
    return {
        "id": grant.id,
        "user": grant.user.username,
        "role": grant.role.key,
        "department": grant.department.code if grant.department else None,
        "granted_at": _iso(grant.granted_at),
        "expires_at": _iso(grant.expires_at),
        "reason": grant.reason,
    }


def user_json(user: User, scope: AdminScope | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "department": user.department.code if user.department else None,
        "manager": user.manager.username if user.manager else None,
        "active": bool(user.active),
    }
    if scope is not None:
        data["grants"] = [grant_json(grant) for grant, _ in admin_queries.grants_of(scope, user)]
        data["heads"] = [d.code for d in administration.headed(user)]
    return data


def role_json(role: Role) -> dict[str, Any]:
    return {
        "id": role.id,
        "key": role.key,
        "name_zh": role.name_zh,
        "name_en": role.name_en,
        "description": role.description,
    }


def token_json(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "user": token.user.username,
        "name": token.name,
        "created_at": _iso(token.created_at),
        "expires_at": _iso(token.expires_at),
        "revoked_at": _iso(token.revoked_at),
        "last_used_at": _iso(token.last_used_at),
    }


def _change(apply: Callable[[], Any], answer: Callable[[Any], Any], status: int = 200):
    """Run one administration change in one transaction: 404 out of scope, 422 refused."""
    try:
        with transaction():
            result = apply()
    except administration.OutOfScope:
        abort(404)
    except administration.AdminRefused as exc:
        return error_response(
            422, exc.message, field=exc.field, errors=[{"field": exc.field, "message": exc.message}]
        )
    return jsonify(answer(result)), status


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


def _per_page() -> tuple[int, int]:
    page, per_page = page_arguments()
    return page, min(per_page, current_app.config.get("FORMWORK_PAGE_SIZE", 20) * 5)


# ---- departments -------------------------------------------------------------------------------


@api_bp.get("/admin/departments")
@login_required
@operation(
    "Departments the caller administers, in tree order (each after its parent).",
    tag=TAG,
    query=SEARCH,
    responses={200: reply(_listing(DEPARTMENT), "A page of departments."), 404: NOT_FOUND},
)
def list_departments():
    page, per_page = _per_page()
    found = admin_queries.departments(_scope(), query_args().get("q"), page, per_page)
    return jsonify(_page([department_json(d, depth) for depth, d in found.items], found))


@api_bp.post("/admin/departments")
@login_required
@operation(
    "Create a department (a delegated administrator: under one they administer).",
    tag=TAG,
    body=obj({"code": TEXT, "name_zh": TEXT, "name_en": TEXT, "parent": REF}, optional=("parent",)),
    responses={201: reply(DEPARTMENT, "Created."), 404: NOT_FOUND, 422: REFUSED},
)
def create_department():
    return _change(lambda: administration.create_department(current_user, body()), department_json, 201)


@api_bp.get("/admin/departments/<int:department_id>")
@login_required
@operation("One department.", tag=TAG, responses={200: reply(DEPARTMENT, "The department."), 404: NOT_FOUND})
def get_department(department_id: int):
    return jsonify(department_json(_found(administration.find_department, department_id)))


@api_bp.patch("/admin/departments/<int:department_id>")
@login_required
@operation(
    "Rename a department.",
    tag=TAG,
    body=obj({"name_zh": TEXT, "name_en": TEXT}),
    responses={200: reply(DEPARTMENT, "Renamed."), 404: NOT_FOUND, 422: REFUSED},
)
def rename_department(department_id: int):
    return _change(
        lambda: administration.rename_department(current_user, department_id, body()), department_json
    )


@api_bp.post("/admin/departments/<int:department_id>/move")
@login_required
@operation(
    "Put a department under another one (never under itself or below itself).",
    tag=TAG,
    body=obj({"parent": REF}),
    responses={200: reply(DEPARTMENT, "Moved."), 404: NOT_FOUND, 422: REFUSED},
)
def move_department(department_id: int):
    return _change(
        lambda: administration.move_department(current_user, department_id, body()["parent"]), department_json
    )


@api_bp.post("/admin/departments/<int:department_id>/head")
@login_required
@operation(
    "Name the department's head (null: none); open tasks waiting on its head go to the new one.",
    tag=TAG,
    body=obj({"head": REF}),
    responses={200: reply(DEPARTMENT, "Saved."), 404: NOT_FOUND, 422: REFUSED},
)
def set_department_head(department_id: int):
    return _change(
        lambda: administration.set_department_head(current_user, department_id, body()["head"]),
        department_json,
    )


@api_bp.post("/admin/departments/<int:department_id>/deactivate")
@login_required
@operation(
    "Close a department; refused while active people work in it or it has open sub-departments.",
    tag=TAG,
    responses={200: reply(DEPARTMENT, "Closed."), 404: NOT_FOUND, 422: REFUSED},
)
def deactivate_department(department_id: int):
    return _change(lambda: administration.deactivate_department(current_user, department_id), department_json)


# ---- people ------------------------------------------------------------------------------------


@api_bp.get("/admin/users")
@login_required
@operation(
    "People the caller administers, by user name; ``left=true`` lists those who left.",
    tag=TAG,
    query={**SEARCH, "left": Param({"type": "boolean", "default": False}, "List people who left.")},
    responses={200: reply(_listing(USER), "A page of people."), 404: NOT_FOUND},
)
def list_users():
    page, per_page = _per_page()
    args = query_args()
    found = admin_queries.users(_scope(), args.get("q"), page, per_page, left=bool(args.get("left")))
    return jsonify(_page([user_json(u) for u in found.items], found))


@api_bp.post("/admin/users")
@login_required
@operation(
    "Create a person (a delegated administrator: in a department they administer).",
    tag=TAG,
    body=obj(
        {
            "username": TEXT,
            "display_name": TEXT,
            "email": {"type": ["string", "null"], "maxLength": 254},
            "department": REF,
            "manager": REF,
            "password": {"type": ["string", "null"], "maxLength": 200},
        },
        optional=("email", "department", "manager", "password"),
    ),
    responses={201: reply(USER, "Created."), 404: NOT_FOUND, 422: REFUSED},
)
def create_user():
    return _change(lambda: administration.create_user(current_user, body()), _user_answer, 201)


def _user_answer(user: User) -> dict[str, Any]:
    return user_json(user, administration.scope(current_user))


@api_bp.get("/admin/users/<int:user_id>")
@login_required
@operation(
    "One person, with their role grants.",
    tag=TAG,
    responses={200: reply(USER, "The person."), 404: NOT_FOUND},
)
def get_user(user_id: int):
    return jsonify(_user_answer(_found(administration.find_user, user_id)))


@api_bp.patch("/admin/users/<int:user_id>")
@login_required
@operation(
    "Change a person's name and e-mail address (fields left out stay).",
    tag=TAG,
    body=obj(
        {"display_name": TEXT, "email": {"type": ["string", "null"], "maxLength": 254}},
        optional=("display_name", "email"),
    ),
    responses={200: reply(USER, "Saved."), 404: NOT_FOUND, 422: REFUSED},
)
def edit_user(user_id: int):
    user = _found(administration.find_user, user_id)
    values = {"display_name": user.display_name, "email": user.email, **body()}
    return _change(lambda: administration.edit_user(current_user, user_id, values), _user_answer)


@api_bp.post("/admin/users/<int:user_id>/move")
@login_required
@operation(
    "Move a person to another department; where they head a department, ``new_head`` names its new head.",
    tag=TAG,
    body=obj({"department": REF, "new_head": REF}, optional=("new_head",)),
    responses={200: reply(USER, "Moved."), 404: NOT_FOUND, 422: REFUSED},
)
def move_user(user_id: int):
    fields = body()
    return _change(
        lambda: administration.move_user(current_user, user_id, fields["department"], fields.get("new_head")),
        _user_answer,
    )


@api_bp.post("/admin/users/<int:user_id>/manager")
@login_required
@operation(
    "Name a person's manager (null: none); never someone who reports to them.",
    tag=TAG,
    body=obj({"manager": REF}),
    responses={200: reply(USER, "Saved."), 404: NOT_FOUND, 422: REFUSED},
)
def set_manager(user_id: int):
    return _change(lambda: administration.set_manager(current_user, user_id, body()["manager"]), _user_answer)


@api_bp.post("/admin/users/<int:user_id>/password")
@login_required
@operation(
    "Set a new password; the person's sessions end.",
    tag=TAG,
    body=obj({"password": {"type": "string", "maxLength": 200}}),
    responses={200: reply(USER, "Saved."), 404: NOT_FOUND, 422: REFUSED},
)
def reset_password(user_id: int):
    return _change(
        lambda: administration.reset_password(current_user, user_id, body()["password"]), _user_answer
    )


@api_bp.post("/admin/users/<int:user_id>/leave")
@login_required
@operation(
    "The person leaves (离职): sessions and tokens end at once; open tasks go to ``successor`` "
    "(default: their manager); delegations to and from them end; ``new_head`` for departments they head.",
    tag=TAG,
    body=obj({"successor": REF, "new_head": REF}, optional=("successor", "new_head")),
    responses={200: reply(USER, "Left."), 404: NOT_FOUND, 422: REFUSED},
)
def leave(user_id: int):
    fields = body()
    return _change(
        lambda: administration.leave(current_user, user_id, fields.get("successor"), fields.get("new_head")),
        lambda _revoked: _user_answer(administration.find_user(current_user, user_id)),
    )


# ---- grants and roles --------------------------------------------------------------------------


@api_bp.post("/admin/grants")
@login_required
@operation(
    "Grant a role, optionally limited to a department (a delegated administrator: always limited to one "
    "they administer) and until a date. A role that would join a declared pair of incompatible roles "
    "(segregation of duties) is refused (422, field override_reason) unless override_reason says why.",
    tag=TAG,
    body=obj(
        {
            "user": REF,
            "role": REF,
            "department": REF,
            "until": nullable(
                {"type": "string", "format": "date", "description": "The last day the role holds."}
            ),
            "reason": nullable({"type": "string", "maxLength": 500}),
            "override_reason": nullable({"type": "string", "maxLength": 500}),
        },
        optional=("department", "until", "reason", "override_reason"),
    ),
    responses={201: reply(GRANT, "Granted (or already held)."), 404: NOT_FOUND, 422: REFUSED},
)
def create_grant():
    return _change(lambda: administration.grant(current_user, body()), grant_json, 201)


@api_bp.delete("/admin/grants/<int:grant_id>")
@login_required
@operation(
    "Revoke a role grant.", tag=TAG, responses={200: reply(GRANT, "Revoked."), 404: NOT_FOUND, 422: REFUSED}
)
def delete_grant(grant_id: int):
    def revoke() -> dict[str, Any]:
        answer = grant_json(administration.find_grant(current_user, grant_id))  # read before it goes
        administration.revoke(current_user, grant_id)
        return answer

    return _change(revoke, lambda data: data)


@api_bp.get("/admin/roles")
@login_required
@operation(
    "Roles (every administrator reads them, to grant them).",
    tag=TAG,
    query=SEARCH,
    responses={200: reply(_listing(ROLE), "A page of roles."), 404: NOT_FOUND},
)
def list_roles():
    _scope()
    page, per_page = _per_page()
    found = admin_queries.roles(query_args().get("q"), page, per_page)
    return jsonify(_page([role_json(r) for r in found.items], found))


ROLE_BODY = {"name_zh": TEXT, "name_en": TEXT, "description": {"type": ["string", "null"], "maxLength": 1000}}


@api_bp.post("/admin/roles")
@login_required
@operation(
    "Create a role (administrators of the whole organisation).",
    tag=TAG,
    body=obj({"key": TEXT, **ROLE_BODY}, optional=("description",)),
    responses={201: reply(ROLE, "Created."), 404: NOT_FOUND, 422: REFUSED},
)
def create_role():
    return _change(lambda: administration.create_role(current_user, body()), role_json, 201)


@api_bp.patch("/admin/roles/<int:role_id>")
@login_required
@operation(
    "Rename a role (administrators of the whole organisation).",
    tag=TAG,
    body=obj(ROLE_BODY, optional=("description",)),
    responses={200: reply(ROLE, "Saved."), 404: NOT_FOUND, 422: REFUSED},
)
def rename_role(role_id: int):
    return _change(lambda: administration.rename_role(current_user, role_id, body()), role_json)


# ---- tokens ------------------------------------------------------------------------------------


@api_bp.get("/admin/tokens")
@login_required
@operation(
    "API tokens of the people the caller administers, newest first (never the secrets).",
    tag=TAG,
    query={
        **SEARCH,
        "user": Param({"type": "integer", "minimum": 1, "maximum": 2**31 - 1}, "Only this person's."),
    },
    responses={200: reply(_listing(TOKEN), "A page of tokens."), 404: NOT_FOUND},
)
def list_tokens():
    page, per_page = _per_page()
    args = query_args()
    found = admin_queries.tokens(_scope(), args.get("q"), page, per_page, user_id=args.get("user"))
    return jsonify(_page([token_json(t) for t in found.items], found))


@api_bp.post("/admin/tokens")
@login_required
@operation(
    "Create a token for oneself; the secret is in this answer only.",
    tag=TAG,
    body=obj(
        {"name": TEXT, "days": {"type": ["integer", "null"], "minimum": 1, "maximum": 3650}},
        optional=("days",),
    ),
    responses={
        201: reply(obj({"token": {"type": "string"}}), "The token, shown once."),
        404: NOT_FOUND,
        422: REFUSED,
    },
)
def create_token():
    return _change(lambda: administration.create_own_token(current_user, body()), lambda t: {"token": t}, 201)


@api_bp.delete("/admin/tokens/<int:token_id>")
@login_required
@operation(
    "Revoke a token of someone the caller administers (again: no change).",
    tag=TAG,
    responses={200: reply(TOKEN, "Revoked."), 404: NOT_FOUND},
)
def revoke_token(token_id: int):
    return _change(lambda: token_json(administration.revoke_token(current_user, token_id)), lambda data: data)
