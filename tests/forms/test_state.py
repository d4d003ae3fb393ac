"""Form state: computed values in dependency order, conditions per field path, compiled once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from forms_samples import L, sample_content

from formwork.forms.state import evaluate_state


def rows(*prices, quantity=1):
    return [{"date": date(2024, 5, 1), "quantity": quantity, "unit_price": Decimal(p)} for p in prices]


def test_row_and_form_computed_values(form, ctx):
    state = evaluate_state(form, {"lines": rows("10.05", "0.10", quantity=3)}, context=ctx)
    assert state.value("lines[0].amount") == Decimal("30.15")
    assert state.computed["lines[1].amount"] == Decimal("0.30")
    assert state.value("total") == Decimal("30.45")
    assert state.value("lines[5].amount") is None


def test_visibility_and_requirement_per_row_path(form, ctx):
    state = evaluate_state(form, {"category": "travel", "lines": rows("5.00", "150.00")}, context=ctx)
    assert state.is_visible("destination") and state.is_required("destination")
    assert not state.is_visible("lines[0].note") and not state.is_required("lines[0].note")
    assert state.is_visible("lines[1].note") and state.is_required("lines[1].note")
    assert state.is_required("reason") and not state.is_required("nights")
    assert state.is_readonly("ref") and state.is_readonly("total") and not state.is_readonly("reason")
    state = evaluate_state(form, {"category": "office"}, context=ctx)
    assert not state.is_visible("destination") and not state.is_required("destination")
    assert state.field_state("locked_note").readonly is False
    assert evaluate_state(form, {"urgent": True}, context=ctx).is_readonly("locked_note")


def test_hidden_values_are_dropped_and_conditions_reevaluated(compile_content, ctx):
    content = sample_content()
    # A chain: b shows only when a is "yes"; c shows only when b is "yes".
    content["fields"] += [
        {"key": "a", "type": "text", "label": L},
        {"key": "b", "type": "text", "label": L, "visible_when": "a == 'yes'"},
        {"key": "c", "type": "text", "label": L, "visible_when": "b == 'yes'", "required": True},
    ]
    form = compile_content(content)
    state = evaluate_state(form, {"a": "yes", "b": "yes", "c": "x"}, context=ctx)
    assert state.is_visible("c") and state.value("c") == "x"
    state = evaluate_state(form, {"a": "no", "b": "yes", "c": "x"}, context=ctx)
    assert state.value("b") is None and state.value("c") is None
    assert not state.is_visible("c") and not state.is_required("c")


def test_hidden_lines_hide_their_rows(compile_content, ctx):
    content = sample_content()
    content["fields"][14]["visible_when"] = "category != 'other'"
    form = compile_content(content)
    state = evaluate_state(form, {"category": "other", "lines": rows("500.00")}, context=ctx)
    assert not state.is_visible("lines") and not state.is_visible("lines[0].note")
    assert state.value("lines") is None and state.value("total") == Decimal("0.00")


def test_computed_money_is_rounded_half_up_to_its_scale(compile_content, ctx):
    content = sample_content()
    content["fields"].append(
        {"key": "tax", "type": "computed", "label": L, "result_type": "money", "expression": "total * 0.125"}
    )
    form = compile_content(content)
    state = evaluate_state(form, {"lines": rows("0.20")}, context=ctx)
    assert state.value("tax") == Decimal("0.03")  # 0.025 → 0.03, not banker's 0.02


def test_division_by_zero_in_a_computed_field_gives_null_not_a_crash(compile_content, ctx):
    content = sample_content()
    content["fields"].append(
        {
            "key": "per_night",
            "type": "computed",
            "label": L,
            "result_type": "money",
            "expression": "total / nights",
        }
    )
    form = compile_content(content)
    state = evaluate_state(form, {"nights": 0, "lines": rows("10.00")}, context=ctx)
    assert state.value("per_night") is None
    assert evaluate_state(form, {"nights": 4, "lines": rows("10.00")}, context=ctx).value(
        "per_night"
    ) == Decimal("2.50")


def test_form_is_compiled_once_per_version(app, demo_org):
    from formwork.definitions import store
    from formwork.forms import catalogue

    content = sample_content()
    version, created = store.publish(content)
    assert created
    first = catalogue.compiled_form(version)
    assert catalogue.compiled_form(store.get(version.id)) is first
