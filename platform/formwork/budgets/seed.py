"""The demo budget lines from ``definitions/org/budgets.yaml`` (``period: current`` = this quarter)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml
from flask import current_app

from ..extensions import transaction
from .models import BudgetLine
from .service import BudgetError, period_of, set_budget

BUDGETS_FILE = Path("org") / "budgets.yaml"


def budgets_file() -> Path:
    return Path(current_app.config["FORMWORK_DEFINITIONS_DIR"]) / BUDGETS_FILE


def seed_demo_budgets(path: Path | None = None, *, today: date | None = None) -> list[BudgetLine]:
    """Create or update the demo budget lines; running it again changes nothing. Commits.

    Does nothing (returns ``[]``) when the file does not exist.
    """
    source = path or budgets_file()
    if not source.is_file():
        return []
    with open(source, encoding="utf-8") as handle:
        data: Any = yaml.safe_load(handle)
    if not isinstance(data, dict) or data.get("kind") != "budgets" or not isinstance(data.get("lines"), list):
        raise BudgetError(f"{source}: not a budgets file (kind: budgets, lines: [...])")
    current = period_of(today or date.today())
    lines = []
    with transaction():
        for index, row in enumerate(data["lines"]):
            if not isinstance(row, dict):
                raise BudgetError(f"{source}: line {index + 1} is not a mapping")
            period = current if row.get("period") == "current" else str(row.get("period"))
            try:
                lines.append(
                    set_budget(
                        row.get("department"),
                        row.get("category"),
                        period,
                        row.get("amount"),
                        row.get("currency", "CNY"),
                    )
                )
            except BudgetError as exc:
                raise BudgetError(f"{source}: line {index + 1}: {exc.message}") from None
    return lines
