"""``GET /records/<id>/pdf`` (browser) and ``GET /api/records/<id>/pdf``: the record as a PDF voucher.

Both look the record up through ``records.access.get_visible``: a record outside the
caller's scope is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, abort, current_app
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..api import api_bp, error_response
from ..api.spec import binary, error, operation
from ..records import access
from ..records.models import Record
from .layout import LayoutError
from .render import pdf_filename, render_voucher

documents_bp = Blueprint("documents", __name__)


class VoucherUnprintable(Exception):
    """Even the default voucher of this record could not be laid out within the limits."""


def pdf_response(record: Record, *, inline: bool) -> Response:
    """The PDF of ``record`` for the current user (``VoucherUnprintable`` past the limits)."""
    started = time.perf_counter()
    try:
        pdf, rendered = render_voucher(record, current_user)
    except LayoutError as exc:
        current_app.logger.warning("record %s could not be printed: %s", record.id, exc.reason)
        raise VoucherUnprintable(exc.reason) from None
    current_app.logger.info(
        "printed record %s with %s in %.0f ms",
        record.id,
        rendered.template,
        (time.perf_counter() - started) * 1000,
    )
    disposition = "inline" if inline else "attachment"
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'{disposition}; filename="{pdf_filename(record)}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@documents_bp.get("/records/<int:record_id>/pdf")
@login_required
def record_pdf_page(record_id: int):
    record = access.get_visible(current_user, record_id)
    if record is None:
        abort(404)
    try:
        return pdf_response(record, inline=True)
    except VoucherUnprintable:
        abort(422, _("This voucher is too large to print within the printing limits."))


@api_bp.get("/records/<int:record_id>/pdf")
@login_required
@operation(
    "The record as a printable PDF voucher: fields the caller may read, line items, totals, the amount in "
    "Chinese capitals and the approval trail.",
    tag="records",
    responses={
        200: binary("application/pdf", "The PDF (Content-Disposition: attachment with a safe file name)."),
        404: error("Not found, or outside the caller's data scope."),
    },
)
def record_pdf_api(record_id: int):
    record = access.get_visible(current_user, record_id)
    if record is None:
        return error_response(404, "record not found")
    try:
        return pdf_response(record, inline=False)
    except VoucherUnprintable as exc:
        return error_response(422, f"the voucher could not be printed: {exc}")
