"""JSON input is typed strictly (a number for a text field is an error); browser posts stay lenient."""

from __future__ import annotations

from decimal import Decimal

import pytest
from forms_samples import valid_data

from formwork.forms.validation import validate


def run(form, raw, ctx, *, json_input=True, mode="draft"):
    result = validate(form, raw, previous=None, mode=mode, context=ctx, json_input=json_input)
    return result, {e["field"]: e["message"] for e in result.errors}


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("reason", 12, "expected text"),
        ("reason", Decimal("1.5"), "expected text"),
        ("reason", True, "expected text"),
        ("reason", ["a"], "expected text"),
        ("justification", {"a": 1}, "expected text"),  # long text
        ("nights", "3", "expected a whole number (a JSON number)"),
        ("nights", True, "expected a whole number (a JSON number)"),
        ("rate", True, 'expected a number, or a decimal as text ("1234.50")'),
        ("rate", ["1"], 'expected a number, or a decimal as text ("1234.50")'),
        ("urgent", "true", "expected true or false"),
        ("urgent", 1, "expected true or false"),
        ("category", ["office"], "expected one option, not a list"),
        ("category", 1, "expected an option value as text"),
        ("tags", "a", "expected a list of option values as text"),
        ("tags", ["a", 2], "expected a list of option values as text"),
        ("start", 20240501, "expected a date as text (YYYY-MM-DD)"),
        ("meeting", 1714550400, "expected a date and time as text (ISO 8601)"),
        ("approver", "5", "expected a user id (a whole number)"),
        ("approver", True, "expected a user id (a whole number)"),
        ("cost_centre", "5", "expected a department id (a whole number)"),
    ],
)
def test_wrong_json_types_are_refused_at_their_field(form, ctx, field, value, message):
    _result, errors = run(form, valid_data(**{field: value}), ctx)
    assert errors == {field: message}


def test_wrong_json_types_in_rows_carry_row_paths(form, ctx):
    lines = [
        {"date": "2024-05-01", "quantity": "2", "unit_price": "10.05", "receipt": 7},
        {"date": "2024-05-01", "quantity": 1, "unit_price": "1.00", "note": 5},
    ]
    _result, errors = run(form, valid_data(lines=lines), ctx)
    assert errors == {
        "lines[0].quantity": "expected a whole number (a JSON number)",
        "lines[0].receipt": "expected a list of attachment ids (whole numbers)",
        "lines[1].note": "expected text",
    }


def test_well_typed_json_is_accepted(form, ctx, demo_org):
    carol = demo_org["carol"]
    raw = valid_data(
        nights=3,
        rate=Decimal("0.1250"),
        urgent=False,
        tags=["a"],
        start="2024-02-29",
        meeting="2024-05-01T10:00:00+08:00",
        approver=carol.id,
        cost_centre=carol.department_id,
        reason="Customer visit",
        locked_note=None,
    )
    raw["lines"][0]["unit_price"] = Decimal("10.05")  # money as a JSON number, or as text
    result, errors = run(form, raw, ctx, mode="submit")
    assert errors == {}
    assert result.data["nights"] == 3 and result.data["rate"] == "0.1250" and result.data["urgent"] is False


def test_null_still_clears_any_field(form, ctx):
    _result, errors = run(form, valid_data(nights=None, urgent=None, approver=None, tags=None), ctx)
    assert errors == {}


def test_browser_strings_stay_lenient(form, ctx, demo_org):
    carol = demo_org["carol"]
    raw = valid_data(
        nights="3",
        urgent="on",
        approver=str(carol.id),
        cost_centre=str(carol.department_id),
        tags="a",
        rate="0.5",
    )
    raw["lines"][0]["quantity"] = "2"
    _result, errors = run(form, raw, ctx, json_input=False)
    assert errors == {}
