"""Bulk onboarding: departments, people, managers and role grants from a CSV or .xlsx file.

``preview`` checks a file and says what importing it would change, or every problem (section,
line, column, why) — and writes nothing. ``apply`` checks the same file again, at that moment,
and writes all of it or nothing, in the caller's transaction; it refuses a file other than the
one previewed (``token``: its SHA-256). ``export`` writes what the administrator administers in
the same formats, so an export imported again changes nothing. The scope of a delegated
administrator applies to every row, as on the administration pages.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from ...audit import actions, trail
from ...extensions import db
from .. import administration
from ..admin_scope import AdminScope
from ..models import Role, User
from . import writing
from .check import Plan, Snapshot, check, token_of
from .files import DEPARTMENTS, GRANTS, USERS, FileRefused, Problem, read, write_xlsx, write_zip

__all__ = [
    "FORMATS",
    "FileRefused",
    "Plan",
    "Problem",
    "Stale",
    "apply",
    "export",
    "preview",
    "template",
    "token_of",
]

FORMATS = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "csv": ("application/zip", "zip"),
}


class Stale(ValueError):
    """The file applied is not the one that was previewed."""


def _scope(actor: User | None) -> AdminScope:
    # No actor: the command line, run by whoever runs the server, administers everything.
    return AdminScope(True, frozenset(), frozenset()) if actor is None else administration.scope(actor)


def preview(actor: User | None, data: bytes, name: str) -> Plan:
    """What importing the file would change, and every problem; nothing is written."""
    scope = _scope(actor)
    return check(scope, read(data, name), data)


def apply(actor: User | None, data: bytes, name: str, token: str | None = None) -> Plan:
    """Check the file again and, when it has no problems, write all of it (caller commits).

    A plan with problems is returned unwritten. ``token`` (from the preview) must name this file.
    """
    if token is not None and token != token_of(data):
        raise Stale(_("This is not the file that was checked: check it again."))
    plan = preview(actor, data, name)
    if plan.ok and plan.changed():
        writing.write(actor, plan, file_name=name, head_hooks=administration.head_hooks())
    return plan


@dataclass
class Export:
    data: bytes
    mimetype: str
    filename: str


def tables(actor: User | None) -> dict[str, list[list[str]]]:
    """The rows of the three sections, as the administrator may see them."""
    scope = _scope(actor)
    snap = Snapshot.load()
    code = snap.department_code
    username = snap.username
    departments = [
        [
            row.code,
            row.name_zh,
            row.name_en,
            code.get(row.parent_id or 0, ""),
            username.get(row.head_id or 0, ""),
        ]
        for row in sorted(snap.departments.values(), key=lambda r: r.code)
        if scope.covers_department(row.id)
    ]
    people = [
        [
            row.username,
            row.display_name,
            row.email or "",
            code.get(row.department_id or 0, ""),
            username.get(row.manager_id or 0, ""),
            "yes" if row.active else "no",
        ]
        for row in sorted(snap.users.values(), key=lambda r: r.username)
        if scope.covers_department(row.department_id)
    ]
    role_key = {ident: key for key, ident in snap.roles.items()}
    covered_users = {row.id for row in snap.users.values() if scope.covers_department(row.department_id)}
    grants = sorted(
        [username[user_id], role_key[role_id], code.get(department_id or 0, "")]
        for user_id, role_id, department_id in snap.grants
        if user_id in covered_users and (scope.everything or scope.covers_department(department_id))
    )
    return {DEPARTMENTS: departments, USERS: people, GRANTS: grants}


def export(actor: User | None, fmt: str) -> Export:
    """The organisation within the actor's reach as .xlsx or a zip of CSV files (audited)."""
    mimetype, extension = FORMATS[fmt]
    found = tables(actor)
    data = write_xlsx(found) if fmt == "xlsx" else write_zip(found)
    trail.append(
        actions.ORG_EXPORT,
        actor=actor,
        object_type="organisation",
        details={"format": fmt, "rows": {section: len(rows) for section, rows in found.items()}},
    )
    return Export(data, mimetype, f"organisation.{extension}")


def template() -> Export:
    """An empty workbook with the three sheets and a sheet of notes on the columns."""
    notes = [
        _("Fill in the sheets departments, users and grants; the first row names the columns."),
        _("departments: code (e.g. SALES-EAST), name_zh, name_en, parent (a code), head (a user name)."),
        _(
            "users: username (lower-case), display_name, email, department (a code), manager (a user name), "
            "active (yes or no)."
        ),
        _("grants: username, role (a role key), department (a code: the grant is limited to it)."),
        _("Rows may refer to rows further down. Grants are only added: none is taken away by an import."),
        _("New people have no password: set one on their page."),
    ]
    roles = db.session.scalars(select(Role.key).order_by(Role.key)).all()
    notes.append(_("Roles: %(keys)s", keys=", ".join(roles)))
    return Export(write_xlsx({}, notes), FORMATS["xlsx"][0], "organisation-template.xlsx")
