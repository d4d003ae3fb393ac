"""``GET /api/records/<id>/pdf``: the record as a PDF voucher, rendered by ``documents``.

A record outside the caller's scope is a 404, exactly like one that does not exist; one the
caller sees without the ``print`` operation right is a 403.
"""

from __future__ import annotations

from flask_login import current_user, login_required

from ..documents.response import VoucherUnprintable, may_print, pdf_response
from ..records import access
from .blueprint import api_bp, error_response
from .spec import binary, error, operation


@api_bp.get("/records/<int:record_id>/pdf")
@login_required
@operation(
    "The record as a printable PDF voucher: fields the caller may read, line items, totals, the amount in "
    "Chinese capitals and the approval trail.",
    tag="records",
    responses={
        200: binary("application/pdf", "The PDF (Content-Disposition: attachment with a safe file name)."),
        403: error("The caller sees the record but has no print right on it."),
        404: error("Not found, or outside the caller's data scope."),
    },
)
def record_pdf_api(record_id: int):
    record = access.get_visible(current_user, record_id)
    if record is None:
        return error_response(404, "record not found")
    if not may_print(record, current_user):
        return error_response(403, "you may see this record but not print it")
    try:
        return pdf_response(record, current_user, inline=False)
    except VoucherUnprintable as exc:
        return error_response(422, f"the voucher could not be printed: {exc}")
