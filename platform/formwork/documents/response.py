"""A record's PDF voucher as an HTTP response, for the page and the API alike: rendered for the
reader, timed in the log, named safely and never cached."""

from __future__ import annotations

import time
from typing import Any

from flask import Response, current_app

from ..audit import actions, trail
from ..extensions import transaction
from ..forms import catalogue
from ..permissions.access import may_on_record
from ..permissions.published import policies_for
from ..records import access
from ..records.models import Record
from .layout import LayoutError
from .render import pdf_filename, render_voucher


def may_print(record: Record, user: Any) -> bool:
    """May ``user``, who sees ``record``, print it: administrators always; otherwise a grant with
    ``print`` whose scope reaches it, or today's rule (whoever sees it) when no permission
    definition covers the form."""
    if access.sees_everything(user) or not policies_for(record.form_key):
        return True  # no need of the compiled form (which safe mode may not have) to say so
    return bool(may_on_record(user, record, catalogue.compiled_form(record.definition), "print"))


class VoucherUnprintable(Exception):
    """Even the default voucher of this record could not be laid out within the limits."""


def pdf_response(record: Record, user: Any, *, inline: bool) -> Response:
    """The PDF of ``record`` as ``user`` may read it (``VoucherUnprintable`` past the limits)."""
    started = time.perf_counter()
    try:
        pdf, rendered = render_voucher(record, user)
    except LayoutError as exc:
        current_app.logger.warning("record %s could not be printed: %s", record.id, exc.reason)
        raise VoucherUnprintable(exc.reason) from None
    current_app.logger.info(
        "printed record %s with %s in %.0f ms",
        record.id,
        rendered.template,
        (time.perf_counter() - started) * 1000,
    )
    with transaction():
        trail.append(
            actions.DOCUMENT_PRINT,
            actor=user,
            object_type="record",
            object_id=record.id,
            department_id=record.department_id,
            details={"template": rendered.template},
        )
    disposition = "inline" if inline else "attachment"
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'{disposition}; filename="{pdf_filename(record)}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
