"""KPI alerts told: each KPI with alerts that is due a check is checked (``kpis.alerts``) in a
transaction of its own, and each change of level is told to the people its definition names —
in the app and through the outbox, in each reader's language — in the same transaction, so an
alert is recorded if and only if it is told. Run by ``formwork due run``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from ..extensions import db
from ..kpis import alerts
from ..kpis.published import current_kpis
from ..kpis.service import display
from .service import notify

log = logging.getLogger(__name__)
LEVEL_WORDS = {
    "normal": {"zh-CN": "正常", "en": "normal"},
    "warning": {"zh-CN": "预警", "en": "warning"},
    "alert": {"zh-CN": "告警", "en": "alert"},
}
OVERALL = {"zh-CN": "全公司", "en": "overall"}


@dataclass
class AlertReport:
    checked: int = 0
    raised: int = 0
    cleared: int = 0
    errors: list[str] = field(default_factory=list)


def _both(render) -> dict[str, str]:
    return {tag: render(tag) for tag in ("zh-CN", "en")}


def tell(change: alerts.Change) -> None:
    kpi, alert = change.kpi, change.alert
    department = change.department
    notify(
        change.recipients,
        "kpi_normal" if alert.level == "normal" else "kpi_alert",
        params={
            "kpi": dict(kpi.title),
            "kpi_key": kpi.key,
            "level": LEVEL_WORDS[alert.level],
            "value": _both(lambda tag: display(kpi, change.value, tag)),
            "threshold": _both(lambda tag: display(kpi, change.threshold, tag)),
            "scope": _both(department.name) if department is not None else OVERALL,
            "period": alert.period,
        },
        dedupe=f"kpi-alert:{alert.id}",
    )


def run(now: datetime) -> AlertReport:
    """Check every KPI with alerts that is due; one transaction per KPI (a failing one is
    reported and retried next run, the others go on)."""
    report = AlertReport()
    kpis = current_kpis()
    for kpi in alerts.alerting(kpis):
        try:
            if not alerts.is_due(kpi, kpis, now):
                db.session.rollback()
                continue
            changes = alerts.check(kpi, kpis, now)
            for change in changes:
                tell(change)
                if change.alert.level == "normal":
                    report.cleared += 1
                else:
                    report.raised += 1
            db.session.commit()
            report.checked += 1
        except Exception as exc:  # one broken KPI must not stop the others' alerts
            db.session.rollback()
            report.errors.append(f"kpi {kpi.key}: {exc}")
            log.exception("the alert check of KPI %s failed", kpi.key)
    return report
