"""Semantic checks of forms: references, expression types, field types — with pointer and line."""

from __future__ import annotations

from formwork.definitions import pipeline
from formwork.definitions.loader import read_source


def _check(text: str, registry, name: str = "trip.yaml"):
    document = read_source(text, name)
    return pipeline.check(document.content, registry, document)


def test_valid_form_has_no_problems(trip_yaml, registry):
    assert _check(trip_yaml, registry) == []


def test_unknown_field_reference_points_at_the_condition(trip_yaml, registry):
    text = trip_yaml.replace("visible_when: category == 'travel'", "visible_when: categroy == 'travel'")
    [problem] = _check(text, registry)
    assert (problem.source, problem.line, problem.pointer) == ("trip.yaml", 14, "/fields/1/visible_when")
    assert "categroy" in problem.message


def test_type_error_in_expression_points_at_the_property(trip_yaml, registry):
    text = trip_yaml.replace("visible_when: category == 'travel'", "visible_when: amount + 1")
    [problem] = _check(text, registry)
    assert (problem.line, problem.pointer) == (14, "/fields/1/visible_when")
    assert problem.message


def test_syntax_error_in_expression_gives_a_position(trip_yaml, registry):
    text = trip_yaml.replace("visible_when: category == 'travel'", "visible_when: category == ")
    [problem] = _check(text, registry)
    assert problem.pointer == "/fields/1/visible_when"
    assert "position" in problem.message


def test_hostile_expression_is_rejected(trip_yaml, registry):
    text = trip_yaml.replace("visible_when: category == 'travel'", "visible_when: category.__class__ == 'x'")
    [problem] = _check(text, registry)
    assert problem.pointer == "/fields/1/visible_when"


def test_unknown_field_type_lists_known_ones(trip_yaml, registry):
    text = trip_yaml.replace("    type: money\n", "    type: currency\n")
    [problem] = _check(text, registry)
    assert (problem.line, problem.pointer) == (16, "/fields/2/type")
    assert "currency" in problem.message and "money" in problem.message


def test_unknown_reference_in_a_validation_rule(trip_yaml, registry):
    text = trip_yaml + (
        "validations:\n"
        "  - rule: total > 0\n"
        "    message: {zh-CN: 金额必须大于零, en: Amount must be positive}\n"
    )
    [problem] = _check(text, registry)
    assert (problem.line, problem.pointer) == (20, "/validations/0/rule")
    assert "total" in problem.message


def test_problems_are_collected_not_just_the_first(trip_yaml, registry):
    text = trip_yaml.replace("visible_when: category == 'travel'", "visible_when: nowhere").replace(
        "    type: money\n", "    type: currency\n"
    )
    pointers = [p.pointer for p in _check(text, registry)]
    assert pointers == ["/fields/1/visible_when", "/fields/2/type"]


def test_a_plugin_field_type_is_accepted(trip_yaml, registry, monkeypatch):
    from formwork.forms.field_types import DecimalType

    class RatingType(DecimalType):
        name = "rating"

    monkeypatch.setitem(registry.field_types, "rating", RatingType())
    assert _check(trip_yaml.replace("    type: money\n", "    type: rating\n"), registry) == []


def test_a_checker_bug_blocks_the_definition_without_crashing(form, registry, monkeypatch):
    import formwork.forms.checks as checks

    def broken(content, registry):
        raise RuntimeError("boom")

    monkeypatch.setattr(checks, "compile_form", broken)
    [problem] = pipeline.check(form, registry)
    assert "internal error" in problem.message


def test_a_property_of_another_type_is_reported(trip_yaml, registry):
    text = trip_yaml.replace(
        "    label: {zh-CN: 目的地, en: Destination}\n",
        "    label: {zh-CN: 目的地, en: Destination}\n    currency: USD\n",
    )
    [problem] = _check(text, registry)
    assert (problem.line, problem.pointer) == (14, "/fields/1/currency")
    assert problem.message == '"currency" does not apply to a text field'
