"""One's notifications as the page and the API show them: in the reader's language, read or not."""

from __future__ import annotations

from typing import Any

from ..i18n import current_locale_tag, normalise_locale
from . import service
from .models import Notification


def current_reader_locale() -> str:
    """The interface language of this request as a catalog locale (``zh_CN`` or ``en``)."""
    return normalise_locale(current_locale_tag()) or "zh_CN"


def notification_view(notification: Notification, locale: str) -> dict[str, Any]:
    """What the page and the API show of one notification, in ``locale``."""
    subject, body = service.notification_text(notification, locale)
    return {
        "id": notification.id,
        "kind": notification.kind,
        "subject": subject,
        "body": body,
        "record_id": notification.record_id,
        "task_id": notification.task_id,
        # A KPI alert leads to its KPI (it has no record).
        "kpi_key": (notification.params or {}).get("kpi_key"),
        "created_at": notification.created_at,
        "read_at": notification.read_at,
        "read": notification.read_at is not None,
    }
