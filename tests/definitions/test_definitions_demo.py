"""The shipped definitions: every file validates, and the demo forms have their promised shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from formwork.definitions import store
from formwork.definitions.pipeline import check_files, discover
from formwork.forms import catalogue

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"


def test_every_shipped_definition_validates(registry, demo_org):  # routes name demo users and roles
    files = discover(DEFINITIONS)
    assert {f.name for f in files} >= {"expense_claim.yaml", "purchase_request.yaml"}
    problems = [str(p) for item in check_files(files, registry) for p in item.problems]
    assert problems == []


@pytest.fixture
def published(app, demo_org):
    return {
        r.definition.key: r.definition for r in store.publish_path(DEFINITIONS) if r.definition.kind == "form"
    }


def test_expense_claim_shape(published):
    form = catalogue.compiled_form(published["expense_claim"])
    assert form.title("zh-CN") == "费用报销" and form.title("en") == "Expense claim"
    assert list(form.field("category").settings["options"]) == ["travel", "entertainment", "office", "other"]
    assert form.field("trip_destination").visible_when is not None
    assert form.field("trip_destination").required_when is not None
    assert form.field("guests").visible_when is not None
    lines = form.field("lines")
    assert lines.settings["min_rows"] == 1 and lines.settings["max_rows"] == 50
    assert [f.key for f in lines.fields] == ["date", "type", "amount", "invoice_no", "receipt"]
    assert form.field("lines.amount").settings["currency"] == "CNY"
    receipt = form.field("lines.receipt").settings
    assert receipt["max_size"] == 5 * 1024 * 1024 and set(receipt["accept"]) == {".pdf", ".jpg", ".png"}
    assert form.field("total").expression.source == "sum(lines.amount)"
    assert form.field("total_in_words").expression.source == "cn_amount(total)"
    assert form.field("payee_account") is not None
    assert len(form.validations) == 3


def test_purchase_request_shape(published):
    form = catalogue.compiled_form(published["purchase_request"])
    assert form.title("zh-CN") == "采购申请"
    assert form.field("department").type.name == "department"
    assert form.field("items.amount").expression is not None
    assert form.field("estimated_total").expression.source == "sum(items.amount)"
    assert form.field("justification").required_when is not None
    # The row amount is computed before the total that adds it up.
    order = [f.path for f in form.computed_order]
    assert order.index("items.amount") < order.index("estimated_total")
