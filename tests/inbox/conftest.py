"""Fixtures for the inbox: the demo organisation, the expense claim with its demo route, claims under way."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask_babel import refresh

from formwork.definitions import store
from formwork.extensions import db
from formwork.org.users import user_by_username
from formwork.records.models import Record
from formwork.workflow import submission

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def english(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh()
        yield


def load(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text("utf-8"))


@pytest.fixture
def expense(demo_org):
    """The expense claim form and the demo route (head → finance → CFO from 50,000 → cashier)."""
    version, _ = store.publish(load("definitions/forms/expense_claim.yaml"))
    store.publish(load("definitions/routes/expense_claim.yaml"))
    return version


def claim_data(
    amount: str = "12000.00", reason: str = "Customer workshop", invoice: str | None = None
) -> dict:
    return {
        "category": "other",
        "reason": reason,
        "lines": [
            {
                "date": date.today().replace(day=1).isoformat(),
                "type": "other",
                "amount": amount,
                "invoice_no": invoice or str(abs(hash((reason, amount))) % 10**8).zfill(8),
            }
        ],
        "payee_name": "Payee",
        "payee_bank": "ICBC Shanghai",
        "payee_account": "6222021234567890123",
    }


@pytest.fixture
def submit(expense):
    """``submit(username, amount="12000.00", reason=...)`` → a submitted claim on its route."""

    def _submit(username: str, amount: str = "12000.00", **kwargs: Any) -> Record:
        record = submission.create_record(
            "expense_claim", claim_data(amount, **kwargs), user_by_username(username), submit=True
        )
        db.session.commit()
        return record

    return _submit


@pytest.fixture
def client(app):
    """A browser that prefers English (one test checks the Chinese page with its own header)."""
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return browser
