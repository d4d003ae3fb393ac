"""The bulk onboarding page, /admin/import: upload, see every problem or what would change, confirm.

The check writes nothing. The confirmation sends the very file that was checked back (kept in
the page, base64, so that no worker needs to remember it; a file too large for a form field is
chosen again) with its SHA-256 ``token``: what is imported is what was shown, checked once more
at that moment, all or nothing. A second click finds nothing left to change.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from ..extensions import transaction
from . import administration, onboarding

import_bp = Blueprint("admin_import", __name__, url_prefix="/admin")
SHOWN_CHANGES = 500
# The file goes back in a form field only while it fits the multipart field limit (with room).
INLINE_FACTOR = 0.7


def _administrator() -> None:
    try:
        administration.scope(current_user)
    except administration.OutOfScope:
        abort(404)


def _page(status: int = 200, **context: Any):
    return render_template("admin/import.html", tab="import", shown=SHOWN_CHANGES, **context), status


def _upload() -> tuple[bytes, str] | None:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None
    return upload.read(), upload.filename


@import_bp.get("/import")
@login_required
def page():
    _administrator()
    return _page()


@import_bp.post("/import")
@login_required
def check():
    """The dry run: every problem, or what would change; nothing is written."""
    _administrator()
    found = _upload()
    if found is None:
        return _page(422, refused=_("Choose a file."))
    data, name = found
    try:
        plan = onboarding.preview(current_user, data, name)
    except onboarding.FileRefused as exc:
        return _page(422, refused=str(exc))
    limit = current_app.config.get("MAX_FORM_MEMORY_SIZE") or 2 * 1024 * 1024
    inline = base64.b64encode(data).decode() if len(data) * 4 / 3 < limit * INLINE_FACTOR else None
    return _page(200 if plan.ok else 422, plan=plan, name=name, inline=inline)


@import_bp.post("/import/apply")
@login_required
def apply():
    """Import the checked file (``token`` names it): all or nothing."""
    _administrator()
    token = request.form.get("token", "")
    name = (request.form.get("name") or "upload")[:200]
    found = _upload()
    if found is not None:
        data, name = found
    else:
        try:
            data = base64.b64decode(request.form.get("data", ""), validate=True)
        except (binascii.Error, ValueError):
            data = b""
    if not data:
        return _page(422, refused=_("Choose the file you checked."))
    try:
        with transaction():
            plan = onboarding.apply(current_user, data, name, token)
    except onboarding.FileRefused as exc:
        return _page(422, refused=str(exc))
    except onboarding.Stale as exc:
        return _page(409, refused=str(exc))
    except IntegrityError:
        return _page(409, refused=_("The organisation changed while importing; check the file again."))
    if not plan.ok:
        return _page(422, plan=plan, name=name, inline=None)
    counts = plan.counts()
    flash(
        _(
            "Imported: %(d)s departments, %(u)s people and %(g)s grants added; %(c)s rows changed.",
            d=counts["departments"]["create"],
            u=counts["users"]["create"],
            g=counts["grants"]["create"],
            c=counts["departments"]["update"] + counts["users"]["update"],
        )
        if plan.changed()
        else _("Nothing to change: the organisation already matches the file."),
        "success",
    )
    return redirect(url_for("admin_import.page"), code=303)


def _file(found: onboarding.Export) -> Response:
    return Response(
        found.data,
        mimetype=found.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )


@import_bp.get("/import/template.xlsx")
@login_required
def template():
    _administrator()
    return _file(onboarding.template())


@import_bp.get("/export")
@login_required
def export():
    _administrator()
    fmt = request.args.get("format", "xlsx")
    if fmt not in onboarding.FORMATS:
        abort(404)
    with transaction():
        found = onboarding.export(current_user, fmt)
    return _file(found)
