"""Server-side validation: the server decides; every bad input gets a specific error at its path."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask_babel import refresh
from forms_samples import valid_data

from formwork.forms.validation import validate


def run(form, raw, ctx, *, mode="submit", previous=None, record_id=None):
    return validate(form, raw, previous=previous, mode=mode, context=ctx, record_id=record_id)


def errors_of(result) -> dict[str, str]:
    return {e["field"]: e["message"] for e in result.errors}


def test_valid_submission_is_normalised_and_computed(form, ctx):
    result = run(form, valid_data(), ctx)
    assert result.errors == []
    data = result.data
    assert data["lines"][0] == {"date": "2024-05-01", "quantity": 2, "unit_price": "10.05", "amount": "20.10"}
    assert data["lines"][1]["amount"] == "0.10"
    assert data["total"] == "20.20"  # exact: never 20.200000000000003
    assert data["ref"] == "AUTO"  # the default of a read-only field
    assert "destination" not in data  # hidden (category is not travel)


def test_money_is_exact_and_never_rounded(form, ctx):
    lines = [
        {"date": "2024-05-01", "quantity": 3, "unit_price": Decimal("0.10")},
        {"date": "2024-05-01", "quantity": 1, "unit_price": "0.20"},
    ]
    result = run(form, valid_data(lines=lines), ctx)
    assert result.data["total"] == "0.50"
    lines[0]["unit_price"] = "10.005"
    result = run(form, valid_data(lines=lines), ctx)
    assert errors_of(result) == {"lines[0].unit_price": "must have at most 2 decimal places"}


@pytest.mark.parametrize("bad", ["ten", "1e5", "NaN", "Infinity", True, [1], {"a": 1}, "1.2.3"])
def test_money_refuses_what_is_not_a_number(form, ctx, bad):
    lines = [{"date": "2024-05-01", "quantity": 1, "unit_price": bad}]
    assert errors_of(run(form, valid_data(lines=lines), ctx))["lines[0].unit_price"] == "must be a number"


def test_bounds_messages_are_specific(form, ctx):
    lines = [{"date": "2024-05-01", "quantity": 1, "unit_price": "1000000.01"}]
    result = run(form, valid_data(lines=lines, nights=31), ctx, mode="draft")
    errors = errors_of(result)
    assert errors["lines[0].unit_price"] == "must be at most 1,000,000.00"
    assert errors["nights"] == "must be at most 30"
    lines = [{"date": "2024-05-01", "quantity": 0, "unit_price": "0.00"}]
    errors = errors_of(run(form, valid_data(lines=lines), ctx))
    assert errors["lines[0].quantity"] == "must be at least 1"
    assert errors["lines[0].unit_price"] == "must be at least 0.01"


def test_text_length_and_pattern(form, ctx):
    errors = errors_of(run(form, valid_data(reason="x" * 51, code="ab-12"), ctx))
    assert errors["reason"] == "must be at most 50 characters"
    assert errors["code"] == "has an invalid format"
    assert run(form, valid_data(code="AB-1234"), ctx).errors == []
    # The pattern never runs over more than a bounded input, whatever the length limit says.
    assert "code" in errors_of(run(form, valid_data(code="A" * 5000), ctx))


def test_text_refuses_nul_and_non_text(form, ctx):
    errors = errors_of(run(form, valid_data(reason="a\x00b", destination=["x"], category="travel"), ctx))
    assert errors["reason"] == "contains a character that is not allowed"
    assert errors["destination"] == "must be text"


def test_unknown_fields_are_refused_by_name(form, ctx):
    raw = valid_data(salary="1000")
    raw["lines"][0]["colour"] = "red"
    errors = errors_of(run(form, raw, ctx))
    assert errors["salary"] == "field salary does not exist in this form"
    assert errors["lines[0].colour"] == "field lines[0].colour does not exist in this form"


def test_read_only_fields_cannot_be_written(form, ctx):
    errors = errors_of(run(form, valid_data(ref="HACKED"), ctx))
    assert errors == {"ref": "ref is read-only and cannot be changed"}
    # Posting the value it already has is harmless.
    assert run(form, valid_data(ref="AUTO"), ctx).errors == []


def test_conditionally_read_only_field(form, ctx):
    previous = run(form, valid_data(locked_note="original"), ctx).data
    errors = errors_of(run(form, {"urgent": True, "locked_note": "changed"}, ctx, previous=previous))
    assert errors == {"locked_note": "locked_note is read-only and cannot be changed"}
    result = run(form, {"urgent": False, "locked_note": "changed"}, ctx, previous=previous)
    assert result.errors == [] and result.data["locked_note"] == "changed"


def test_computed_fields_are_recomputed_and_never_taken_from_input(form, ctx):
    errors = errors_of(run(form, valid_data(total="999.00"), ctx))
    assert errors == {"total": "total is computed and cannot be set"}
    raw = valid_data(total="20.20")  # echoing the server's own value is accepted
    assert run(form, raw, ctx).errors == []
    raw = valid_data()
    raw["lines"][0]["amount"] = "1.00"
    assert errors_of(run(form, raw, ctx)) == {
        "lines[0].amount": "lines[0].amount is computed and cannot be set"
    }


def test_required_only_when_submitting(form, ctx):
    draft = run(form, {"reason": "half done"}, ctx, mode="draft")
    assert draft.errors == [] and draft.data == {"reason": "half done", "ref": "AUTO", "total": "0.00"}
    errors = errors_of(run(form, {"reason": "half done"}, ctx))
    assert errors["category"] == "this field is required"
    assert errors["lines"] == "at least 1 row"


def test_conditional_required_and_hidden_values_dropped(form, ctx):
    errors = errors_of(run(form, valid_data(category="travel"), ctx))
    assert errors == {"destination": "this field is required"}
    result = run(form, valid_data(category="travel", destination="Shanghai"), ctx)
    assert result.errors == [] and result.data["destination"] == "Shanghai"
    # Changing the category hides the destination: its value is not stored.
    result = run(form, valid_data(category="office", destination="Shanghai"), ctx)
    assert result.errors == [] and "destination" not in result.data


def test_required_when_computed_total_is_large(form, ctx):
    lines = [{"date": "2024-05-01", "quantity": 5, "unit_price": "10000.00", "note": "big"}]
    errors = errors_of(run(form, valid_data(lines=lines), ctx))
    assert errors == {"justification": "this field is required"}
    assert run(form, valid_data(lines=lines, justification="board approved"), ctx).errors == []


def test_row_errors_carry_row_paths(form, ctx):
    lines = [
        {"date": "2024-05-01", "quantity": 1, "unit_price": "5.00"},
        {"date": "not a date", "quantity": "two", "unit_price": "5.00"},
        {"date": "2024-05-03", "quantity": 1, "unit_price": "500.00"},  # note becomes required
    ]
    errors = errors_of(run(form, valid_data(lines=lines), ctx))
    assert errors == {
        "lines[1].date": "must be a date (YYYY-MM-DD)",
        "lines[1].quantity": "must be a whole number",
        "lines[2].note": "this field is required",
    }


def test_too_many_rows(form, ctx):
    lines = [{"date": "2024-05-01", "quantity": 1, "unit_price": "1.00"}] * 6
    assert errors_of(run(form, valid_data(lines=lines), ctx, mode="draft")) == {"lines": "at most 5 rows"}
    assert errors_of(run(form, valid_data(lines="many"), ctx)) == {"lines": "must be a list of rows"}


def test_cross_field_rules_in_the_current_locale(app, form, ctx):
    lines = [{"date": "2024-05-01", "quantity": 3, "unit_price": "100000.00", "note": "x"}]
    raw = valid_data(lines=lines, justification="why")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh()  # the locale is cached per application context, which the test app shares
        assert errors_of(run(form, raw, ctx)) == {"total": "The total cannot exceed 200,000"}
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        refresh()
        assert errors_of(run(form, raw, ctx)) == {"total": "总额不能超过 200,000"}
    # Drafts may break rules; only submitting enforces them.
    assert run(form, raw, ctx, mode="draft").errors == []


def test_rule_with_boolean_logic(form, ctx):
    assert errors_of(run(form, valid_data(nights=12), ctx)) == {
        "nights": "More than 10 nights must be urgent"
    }
    assert run(form, valid_data(nights=12, urgent=True), ctx).errors == []


def test_other_types(form, ctx, demo_org):
    carol = demo_org["carol"]
    raw = valid_data(
        rate="0.1250",
        urgent="on",
        tags=["c", "a", "a"],
        start="2024-02-29",
        meeting="2024-05-01T10:00:00+08:00",
        approver=str(carol.id),
        cost_centre=carol.department_id,
    )
    result = run(form, raw, ctx)
    assert result.errors == []
    data = result.data
    assert data["rate"] == "0.1250" and data["urgent"] is True and data["tags"] == ["a", "c"]
    assert data["meeting"] == "2024-05-01T02:00:00+00:00"  # stored in UTC
    assert data["approver"] == carol.id and data["cost_centre"] == carol.department_id
    bad = valid_data(
        rate="0.12345",
        urgent="maybe",
        tags=["a", "b", "c"],
        start="2019-12-31",
        meeting="tomorrow",
        approver=999999,
        cost_centre="x",
        category="plane",
    )
    errors = errors_of(run(form, bad, ctx))
    assert errors == {
        "rate": "must have at most 4 decimal places",
        "urgent": "must be true or false",
        "tags": "choose at most 2",
        "start": "must be on or after 2020-01-01",
        "meeting": "must be a date and time (ISO 8601)",
        "approver": "must be an active user",
        "cost_centre": "must be a department",
        "category": "must be one of the options",
    }


def test_inactive_user_is_refused(form, ctx, demo_org):
    from formwork.extensions import db

    frank = demo_org["frank"]
    frank.active = False
    db.session.commit()
    assert errors_of(run(form, valid_data(approver=frank.id), ctx)) == {"approver": "must be an active user"}


def test_data_must_be_an_object(form, ctx):
    assert errors_of(run(form, ["not", "an", "object"], ctx)) == {
        "": "the data must be an object of field values"
    }


def test_previous_values_are_kept_and_null_clears(form, ctx):
    first = run(form, valid_data(nights=3, code="AB-1234"), ctx).data
    result = run(form, {"nights": None, "reason": "new reason"}, ctx, previous=first)
    assert result.errors == []
    assert (
        "nights" not in result.data
        and result.data["code"] == "AB-1234"
        and result.data["reason"] == "new reason"
    )
    assert result.data["total"] == first["total"]
