"""Approved budget lines: the amounts purchase and expense rules check against."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db_types import Timestamp, utcnow
from ..extensions import Model
from ..org.models import Department


class BudgetLine(Model):
    __tablename__ = "budget_lines"
    __table_args__ = (UniqueConstraint("department_id", "category", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    category: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(10))  # "2026-Q4": calendar quarters
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)

    department: Mapped[Department] = relationship()
