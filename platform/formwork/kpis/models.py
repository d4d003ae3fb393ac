"""What the KPI alerts remember: when each KPI was last checked, and every change of level."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db_types import Timestamp, utcnow
from ..extensions import Model


class KpiWatch(Model):
    """One row per KPI with alerts: when it was last checked and for which period. A check runs
    again once a record of a form it reads changed after ``checked_at``, the period turned, or
    the re-check interval passed (``kpis.alerts``)."""

    __tablename__ = "kpi_watch"

    kpi_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(Timestamp())
    period: Mapped[str] = mapped_column(String(20))


class KpiAlert(Model):
    """A change of a KPI's level for one department (or overall: no department), with the value
    and the threshold that made it, as seen at ``at``. The latest row per (KPI, department) is
    the level people were last told of; a check that finds the same level writes nothing."""

    __tablename__ = "kpi_alerts"
    __table_args__ = (Index("ix_kpi_alerts_latest", "kpi_key", "department_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kpi_key: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    period: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(10))
    previous_level: Mapped[str] = mapped_column(String(10))
    value: Mapped[str | None] = mapped_column(String(60))
    threshold: Mapped[str | None] = mapped_column(String(60))
    at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
