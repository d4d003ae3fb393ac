"""Showing values to people, on pages and printed vouchers alike: money with grouping and currency,
dates, choices, names, a record's status.

Values are formatted from exact ``Decimal`` values with Babel, with quantisation
switched off so nothing is rounded for display that the record does not say.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from . import business_time
from .i18n import localized


def _locale() -> str:
    return str(get_locale() or "en")


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def format_money(value: Any, currency: str = "CNY") -> str:
    """``Decimal("1234567.5")`` → ``¥1,234,567.50`` (zh-CN) / ``CN¥1,234,567.50`` (en)."""
    amount = _decimal(value)
    if amount is None:
        return "" if value is None else str(value)
    return format_currency(amount, currency, locale=_locale(), decimal_quantization=False)


def format_number(value: Any) -> str:
    amount = _decimal(value)
    if amount is None:
        return "" if value is None else str(value)
    return format_decimal(amount, locale=_locale(), decimal_quantization=False)


def value_kind(field: Any) -> tuple[str, dict[str, Any]]:
    """The widget that decides how a value looks, and its settings (a computed field's result type)."""
    if field.type.name == "computed":
        result = field.settings.get("result")
        return (result.widget if result is not None else "text"), field.settings
    return field.type.widget, field.settings


def format_value(field: Any, value: Any, names: dict[str, dict[int, str]] | None = None) -> str:
    """A stored or computed value of ``field`` as text for reading (not for an input)."""
    if value is None or value == "" or value == []:
        return ""
    kind, settings = value_kind(field)
    if kind == "money":
        return format_money(value, settings.get("currency") or "CNY")
    if kind in ("decimal", "integer"):
        return format_number(value)
    if kind == "date":
        try:
            day = value if isinstance(value, date) else date.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return format_date(day, format="medium", locale=_locale())
    if kind == "datetime":
        try:
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return format_datetime_value(moment)
    if kind == "checkbox":
        truthy = value is True or str(value).lower() in ("true", "1", "on", "yes")
        return _("Yes") if truthy else _("No")
    if kind == "select":
        return localized(settings.get("options", {}).get(str(value), str(value)))
    if kind == "checkboxes":
        options = settings.get("options", {})
        return ", ".join(localized(options.get(str(v), str(v))) for v in value)
    if kind in ("user", "department") and names is not None:
        try:
            return names.get(kind, {}).get(int(value), f"#{value}")
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def input_value(field: Any, value: Any) -> str:
    """A value as an input shows it: exact decimals, ISO dates, ``YYYY-MM-DDTHH:MM`` date-times."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if field.type.widget == "datetime":
        text = value.isoformat() if isinstance(value, datetime) else str(value)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
        # The input has no offset: it shows (and posts back) business time.
        if moment.tzinfo is not None:
            moment = business_time.local(moment)
        return moment.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def format_size(size: int | None) -> str:
    if size is None:
        return ""
    if size < 1024:
        return _("%(n)s bytes", n=size)
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def format_datetime_value(moment: datetime | None) -> str:
    """A stored instant for reading: in business time (FORMWORK_TIMEZONE), in the interface language."""
    if moment is None:
        return ""
    return format_datetime(business_time.local(moment), format="medium", locale=_locale())


def format_date_value(moment: datetime | None) -> str:
    """The business day of a stored instant (a claim made at 07:30 in Beijing is dated that day)."""
    day = business_time.local_date(moment)
    return format_date(day, format="medium", locale=_locale()) if day is not None else ""


def event_label(action: str) -> str:
    """A history event's action in words (``created`` → "Created")."""
    labels = {
        "created": _("Created"),
        "updated": _("Edited"),
        "submitted": _("Submitted"),
        "write_refused": _("Change refused"),
    }
    return labels.get(action, action.replace("_", " "))


STATUS_LABELS: dict[str, Any] = {
    "draft": _l("Draft"),
    "submitted": _l("Submitted"),
    "in_review": _l("In review"),
    "returned": _l("Returned"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "withdrawn": _l("Withdrawn"),
}


def status_label(status: str) -> str:
    """A record's status in words, in the interface language."""
    return str(STATUS_LABELS.get(status, status))
