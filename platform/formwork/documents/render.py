"""Records as printed vouchers (记账凭证 / 报销单): HTML from a template, PDF from WeasyPrint.

``record_pdf(record, user)`` is the whole job. The voucher data is built once as plain
texts, numbers and lists (``voucher_context``) so the same data feeds the default
template and a form's own sandboxed print template. The PDF is laid out in a child process
with time and memory limits (``layout``); a form's template that breaks them is replaced by
the default voucher. Printing never fetches anything from the network
(``fetcher.LocalOnlyFetcher``) and always uses the fonts bundled in ``static/vendor/fonts``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from dataclasses import field as dc_field
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app, render_template
from flask_babel import gettext as _
from sqlalchemy import func, select

from .. import business_time
from ..config import PROJECT_ROOT
from ..definitions.print_sources import FILES_KEY
from ..extensions import db
from ..formatting import format_datetime_value, format_money, status_label
from ..i18n import current_locale_tag, localized
from ..plugins import current_registry
from ..printing.templates import PrintTemplateError, render_print_template
from ..records.models import Attachment, Record
from .layout import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, FONT_STACK, Layout, LayoutError, Limits, layout_pdf
from .trail import APPROVING, trail_rows
from .values import readable_values

log = logging.getLogger(__name__)
DEFAULT_TEMPLATE = "documents/voucher.html"
FONT_FAMILY = FONT_STACK


@dataclass
class RenderedVoucher:
    """The voucher's HTML, which template made it, and why the form's own template was not used."""

    html: str
    template: str
    fallback_reason: str | None = None
    refused_urls: list[str] = dc_field(default_factory=list)
    fetched_urls: list[str] = dc_field(default_factory=list)


def _labels() -> dict[str, str]:
    """Interface words a print template may use, already in the reader's language."""
    return {
        "voucher": _("Voucher"),
        "number": _("No."),
        "status": _("Status"),
        "submitter": _("Submitted by"),
        "department": _("Department"),
        "created": _("Created"),
        "submitted": _("Submitted on"),
        "printed": _("Printed"),
        "total": _("Total"),
        "amount_in_words": _("Amount in Chinese capitals"),
        "trail": _("Approval trail"),
        "step": _("Step"),
        "name": _("Name"),
        "decision": _("Decision"),
        "time": _("Time"),
        "comment": _("Comment"),
        "on_behalf_of": _("On behalf of"),
        "page": _("Page"),
        "no_rows": _("No rows."),
        "no_trail": _("No approval steps yet."),
        "system": _("System"),
        "applicant": _("Applicant"),
        "attachments": _("Attachments"),
    }


# Trail rows that no person made (a step passed, the route chose a branch, the process
# started) explain the machinery, not the approval: the voucher's trail leaves them out.
# A skipped step still gets its signature box ("—"), and alerts stay: finance must see them.
KEPT_SYSTEM_ACTIONS = ("alert",)
SKIPPED = ("skip", "skipped")
NOT_SIGNED = "—"


def _watermark(status: str) -> str:
    """What is printed across a voucher that is not (yet) approved; empty once it is."""
    if status == "approved":
        return ""
    if status in ("submitted", "in_review"):
        return _("In approval")
    return _("Not approved")


def _definition_content(record: Record) -> dict[str, Any]:
    version = record.definition
    return (version.content or {}) if version is not None else {}


def _applicant_label(content: Any, labels: dict[str, str]) -> str:
    """How the form calls the person who filled it in (``applicant_label``), else "Applicant"."""
    wording = content.get("applicant_label") if isinstance(content, dict) else None
    return str(localized(wording)) if wording else labels["applicant"]


def _attachment_count(record: Record) -> int:
    return int(
        db.session.scalar(select(func.count(Attachment.id)).where(Attachment.record_id == record.id)) or 0
    )


def _capital_words(amount: Any) -> str:
    """The amount in Chinese capitals through the ``cn_amount`` plugin function, when it is installed."""

    spec = current_registry().functions.get("cn_amount")
    if spec is None or amount in (None, ""):
        return ""
    try:
        return str(spec.python(Decimal(str(amount))))
    except Exception:  # a plugin must never break printing
        log.warning("cn_amount could not write %r in capitals", amount, exc_info=True)
        return ""


def _totals(values: Any) -> tuple[str, str, str]:
    """(total as text, its plain amount, the amount in capitals) for the voucher's summary line.

    The total is the form's first visible computed money field; without one, the sum of the
    money columns of its line items. The capitals come from a computed field that calls
    ``cn_amount`` when the form has one (so the voucher says exactly what the form says).
    """
    form = values.form
    fields = {f.key: f for f in values.fields}
    total_text, total_amount, currency = "", "", "CNY"
    for field in form.fields:
        printed = fields.get(field.key)
        if (
            printed is not None
            and field.is_computed
            and printed.kind == "money"
            and printed.value not in (None, "")
        ):
            total_text, total_amount = printed.text, str(printed.value)
            break
    if not total_amount:
        amounts = [  # the columns each table totals: amounts, never unit prices
            Decimal(str(row[key]))
            for table in values.lines
            for key in table.totals
            for row in table.values
            if row.get(key) not in (None, "")
        ]
        if amounts:
            total_amount = str(sum(amounts, Decimal(0)))
            total_text = format_money(total_amount, currency)
    words = ""
    for field in form.fields:
        printed = fields.get(field.key)
        source = getattr(field.expression, "source", "") or ""
        if printed is not None and field.is_computed and "cn_amount(" in source and printed.text:
            words = printed.text
            break
    if not words and total_amount:
        words = _capital_words(total_amount)
    return total_text, total_amount, words


def _signatures(record: Record, trail: list[Any], labels: dict[str, str]) -> list[dict[str, str]]:
    """One box per step that has been decided (latest decision wins), after the submitter's own."""
    boxes: dict[str, dict[str, str]] = {}
    for row in trail:
        if not row.step_key:
            continue
        box = boxes.setdefault(
            row.step_key, {"title": row.step or row.step_key, "name": "", "decision": "", "date": ""}
        )
        if row.action in APPROVING or row.action in ("reject", "rejected", "return", "returned"):
            box.update(name=row.name, decision=row.decision, date=row.time)
        elif row.action in SKIPPED and not box["name"]:
            box.update(name=NOT_SIGNED, decision="", date="")
    submitter = {
        "title": labels["applicant_label"],
        "name": record.owner.display_name if record.owner else "",
        "decision": "",
        "date": format_datetime_value(record.submitted_at),
    }
    return [submitter, *boxes.values()]


def voucher_context(record: Record, user: Any) -> dict[str, Any]:
    """Everything a voucher shows, as plain JSON data (the only thing a print template sees)."""
    values = readable_values(record, user)
    tag = current_locale_tag()
    labels = _labels()
    labels["applicant_label"] = _applicant_label(_definition_content(record), labels)
    trail = trail_rows(record)
    for row in trail:
        row.name = row.name or labels["system"]
    printed_trail = [row for row in trail if row.person or row.action in KEPT_SYSTEM_ACTIONS]
    total_text, total_amount, words = _totals(values)
    attachments = _attachment_count(record)
    chinese = tag.lower().startswith("zh")
    return {
        "locale": tag,
        "labels": labels,
        "font_family": FONT_FAMILY,
        "colon": "：" if chinese else ": ",
        "watermark": _watermark(record.status),
        "record": {
            "id": record.id,
            "attachments": attachments,
            "attachments_text": _("%(count)d sheet(s)", count=attachments),
            "number": record.voucher_number or f"{record.form_key.upper()}-{record.id:06d}",
            "title": record.title or "",
            "form_key": record.form_key,
            "form_title": values.form.title(tag),
            "form_version": record.form_version,
            "status": record.status,
            "status_label": status_label(record.status),
            "submitter": record.owner.display_name if record.owner else "",
            "department": record.department.name(tag) if record.department else "",
            "created": format_datetime_value(record.created_at),
            "submitted": format_datetime_value(record.submitted_at),
        },
        "printed_at": format_datetime_value(business_time.now()),
        "fields": [asdict(f) for f in values.fields],
        "data": {f.key: f.text for f in values.fields},
        "values": {f.key: f.value for f in values.fields},
        "lines": [{**asdict(t), "columns": [asdict(c) for c in t.columns]} for t in values.lines],
        "total": total_text,
        "total_amount": total_amount,
        "amount_in_words": words,
        "trail": [asdict(row) for row in printed_trail],
        "signatures": _signatures(record, trail, labels),
    }


def _print_template(record: Record) -> tuple[str | None, dict[str, str] | None]:
    """The print template the record's form version names, and its sources stored with that version.

    The sources are None only for a version published before templates were stored with it;
    that one still reads the print folder.
    """

    content = _definition_content(record)
    name = content.get("print_template")
    if not isinstance(name, str) or not name:
        return None, None
    files = content.get(FILES_KEY)
    return name, files if isinstance(files, dict) else None


def voucher_html(record: Record, user: Any, context: dict[str, Any] | None = None) -> RenderedVoucher:
    """The voucher as HTML: the form's print template when it names one and it works, else the default."""
    context = context if context is not None else voucher_context(record, user)
    name, sources = _print_template(record)
    reason = None
    if name:
        try:
            return RenderedVoucher(render_print_template(name, context, sources), name)
        except PrintTemplateError as exc:
            reason = str(exc)
            log.warning("%s; record %s printed with the default voucher instead", reason, record.id)
    return RenderedVoucher(render_template(DEFAULT_TEMPLATE, **context), DEFAULT_TEMPLATE, reason)


def layout_limits() -> Limits:
    """Time and memory one PDF may take (``FORMWORK_PDF_TIMEOUT``, ``FORMWORK_PDF_MEMORY_MB``)."""
    config = current_app.config
    return Limits(
        timeout=float(config.get("FORMWORK_PDF_TIMEOUT", DEFAULT_TIMEOUT)),
        memory_mb=int(config.get("FORMWORK_PDF_MEMORY_MB", DEFAULT_MEMORY_MB)),
    )


def html_to_pdf(html: str) -> Layout:
    """A PDF of ``html``, with the URLs refused and loaded; ``LayoutError`` beyond the limits."""
    static = Path(current_app.static_folder or PROJECT_ROOT / "static")
    return layout_pdf(html, static_folder=static, limits=layout_limits())


def render_voucher(record: Record, user: Any) -> tuple[bytes, RenderedVoucher]:
    """The PDF, and how it was made (template, fallback reason, refused URLs).

    A form's own template whose layout breaks the time or memory limit is printed with the
    default voucher instead; ``LayoutError`` only when even the default voucher cannot be laid out.
    """
    context = voucher_context(record, user)
    rendered = voucher_html(record, user, context)
    try:
        layout = html_to_pdf(rendered.html)
    except LayoutError as exc:
        if rendered.template == DEFAULT_TEMPLATE:
            raise
        reason = f"print template {rendered.template}: {exc.reason}"
        log.warning("%s; record %s printed with the default voucher instead", reason, record.id)
        rendered = RenderedVoucher(render_template(DEFAULT_TEMPLATE, **context), DEFAULT_TEMPLATE, reason)
        layout = html_to_pdf(rendered.html)
    rendered.refused_urls = layout.refused_urls
    rendered.fetched_urls = layout.fetched_urls
    return layout.pdf, rendered


def record_pdf(record: Record, user: Any) -> bytes:
    """``record`` as a printable PDF voucher for ``user`` (who must already be allowed to see it)."""
    return render_voucher(record, user)[0]


def pdf_filename(record: Record) -> str:
    """A download name that is safe in any header and file system: ``expense_claim-42.pdf``."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", record.form_key or "record").strip("_") or "record"
    return f"{stem[:60]}-{int(record.id)}.pdf"
