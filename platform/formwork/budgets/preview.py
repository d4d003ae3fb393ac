"""A budget as a person sees it next to one request: the budget, what others have used, this request.

The figures are the ones the route's ``$budget`` check reads (``budget_status``, the same consumers,
the request itself left out), so what the requester sees while filling in is what the route will
decide on, and what the approver sees is what it decided on. Nothing here is locked: a preview
decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from ..extensions import db
from ..org.models import Department
from .service import BudgetError, Consumer, budget_status, consumers, period_of

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class BudgetPreview:
    """One department, category and quarter against one request's amount (None while unreadable)."""

    department_id: int
    category: str
    period: str
    amount: Decimal | None  # the budget; None: no budget line for this department and category
    used: Decimal  # by every other request in review or approved
    request: Decimal | None
    currency: str = "CNY"

    @property
    def has_budget(self) -> bool:
        return self.amount is not None

    @property
    def remaining(self) -> Decimal | None:
        return None if self.amount is None else self.amount - self.used

    @property
    def after(self) -> Decimal | None:
        """What remains once this request is counted too."""
        remaining = self.remaining
        return None if remaining is None or self.request is None else remaining - self.request

    @property
    def shortfall(self) -> Decimal | None:
        """How much this request asks beyond what remains (0 when it fits); without a budget, all of it."""
        if self.request is None:
            return None
        remaining = self.remaining if self.remaining is not None else ZERO
        return max(ZERO, self.request - remaining)

    @property
    def over(self) -> bool:
        return self.shortfall is not None and self.shortfall > 0

    @property
    def quarter(self) -> tuple[str, str]:
        """``("2026", "4")`` for ``2026-Q4``: for a translated "2026 Q4" / "2026年第4季度"."""
        year, _, quarter = self.period.partition("-Q")
        return year, quarter


def money(value: Any) -> Decimal | None:
    """A request amount as stored or computed (Decimal, number or text); None when it cannot be read."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def budget_preview(
    consumer: Consumer,
    *,
    department_id: Any,
    category: Any,
    amount: Any,
    day: date,
    exclude_record_id: int | None = None,
) -> BudgetPreview | None:
    """The budget ``consumer``'s request would be checked against, or None while it is not chosen yet."""
    if isinstance(department_id, bool) or not isinstance(department_id, int):
        return None
    if not isinstance(category, str) or not category:
        return None
    period = period_of(day)
    # As the route's check counts: this form with this mapping, every other budget form with its own.
    others = [c for c in consumers() if c.form_key != consumer.form_key]
    try:
        status = budget_status(
            department_id, category, period, exclude_record_id=exclude_record_id, only=[consumer, *others]
        )
    except BudgetError:  # a department that does not exist (any more)
        return None
    return BudgetPreview(
        department_id, category, period, status.amount, status.used, money(amount), status.currency
    )


@dataclass(frozen=True)
class BudgetPanel:
    """A preview with the names a page shows. ``preview`` None: nothing to show (an empty panel), as while
    no department and category are chosen, or for a department the person may not choose."""

    preview: BudgetPreview | None = None
    department: str = ""
    category: str = ""


def budget_panel(
    preview: BudgetPreview | None, category_labels: dict[str, str], locale_tag: str
) -> BudgetPanel:
    """``preview`` with its department's name and its category's label (value → label)."""
    if preview is None:
        return BudgetPanel()
    department = db.session.get(Department, preview.department_id)
    return BudgetPanel(
        preview,
        department.name(locale_tag) if department is not None else "",
        category_labels.get(preview.category, preview.category),
    )
