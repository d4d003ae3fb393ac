"""``GET /records/<id>/pdf``: the record as a PDF voucher in the browser (the API has its own route).

The record is looked up through ``records.access.get_visible``: a record outside the
caller's scope is a 404, exactly like one that does not exist; one the caller sees without
the ``print`` operation right is a 403.
"""

from __future__ import annotations

from flask import Blueprint, abort
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..records import access
from .response import VoucherUnprintable, may_print, pdf_response

documents_bp = Blueprint("documents", __name__)


@documents_bp.get("/records/<int:record_id>/pdf")
@login_required
def record_pdf_page(record_id: int):
    record = access.get_visible(current_user, record_id)
    if record is None:
        abort(404)
    if not may_print(record, current_user):
        abort(403, _("You may see this record but not print it."))
    try:
        return pdf_response(record, current_user, inline=True)
    except VoucherUnprintable:
        abort(422, _("This voucher is too large to print within the printing limits."))
