"""The form JSON Schema: shape errors reported with pointer, line and a readable reason."""

from __future__ import annotations

import json
from importlib import resources

from jsonschema import Draft202012Validator

from formwork.definitions.loader import read_source
from formwork.definitions.pipeline import check, schema_for, schema_problems


def _problems(content):
    return schema_problems(content, "form")


def test_schema_is_valid_draft_2020_12_and_shipped_in_the_package():
    schema = schema_for("form")
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    shipped = (
        resources.files("formwork.definitions").joinpath("schema", "form.schema.json").read_text("utf-8")
    )
    assert json.loads(shipped) == schema


def test_additional_properties_are_refused_everywhere():
    schema = schema_for("form")

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "object":
                assert node.get("additionalProperties") is False, node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)


def test_minimal_form_passes(form):
    assert _problems(form) == []


def test_typo_in_property_suggests_the_right_one(form):
    form["fields"][0]["lable"] = form["fields"][0].pop("label")
    problems = _problems(form)
    messages = {p.pointer: p.message for p in problems}
    assert messages["/fields/0/lable"] == 'unknown property "lable" (did you mean "label"?)'
    assert messages["/fields/0"] == 'required property "label" is missing'


def test_label_needs_both_languages(form):
    form["fields"][1]["label"] = {"zh-CN": "金额"}
    [problem] = _problems(form)
    assert problem.pointer == "/fields/1/label"
    assert problem.message == 'required property "en" is missing'


def test_help_may_have_one_language(form):
    form["fields"][0]["help"] = {"en": "Where you go"}
    assert _problems(form) == []
    form["fields"][0]["help"] = {}
    assert _problems(form)[0].pointer == "/fields/0/help"


def test_bad_key_and_wrong_types_are_explained(form):
    form["key"] = "Trip-Request"
    form["fields"][0]["required"] = "yes"
    form["fields"][1]["max_files"] = 0
    problems = {p.pointer: p.message for p in _problems(form)}
    assert "lower_snake_case" in problems["/key"] and "'Trip-Request'" in problems["/key"]
    assert problems["/fields/0/required"] == "expected true or false, got the text 'yes'"
    assert problems["/fields/1/max_files"] == "must be at least 1"


def test_decimal_bounds_as_text_or_number_but_not_nonsense(form):
    form["fields"][1]["max"] = 100
    assert _problems(form) == []
    form["fields"][1]["max"] = "1e5"
    [problem] = _problems(form)
    assert problem.pointer == "/fields/1/max"
    assert "decimal written as text" in problem.message


def test_kind_and_nested_line_fields_are_checked(form):
    form["fields"].append(
        {
            "key": "lines",
            "type": "lines",
            "label": {"zh-CN": "明细", "en": "Lines"},
            "fields": [{"key": "x", "type": "text", "label": {"zh-CN": "x", "en": "x"}, "colour": "red"}],
        }
    )
    [problem] = _problems(form)
    assert problem.pointer == "/fields/2/fields/0/colour"
    assert problem.message.startswith('unknown property "colour"')


def test_invalid_regex_is_a_schema_problem(form):
    form["fields"][0]["pattern"] = "([a-z]"
    [problem] = _problems(form)
    assert problem.pointer == "/fields/0/pattern"
    assert problem.message == "is not a valid regular expression"


def test_every_violation_is_reported_with_its_line():
    text = (
        "kind: form\n"
        "key: trip\n"
        "title: {zh-CN: 出差, en: Trip}\n"
        "fields:\n"
        "  - key: amount\n"
        "    type: money\n"
        "    label: {zh-CN: 金额, en: Amount}\n"
        "    currency: cny\n"
        "  - key: note\n"
        "    type: text\n"
        "    label: {zh-CN: 备注}\n"
        "    requried: true\n"
        "validations:\n"
        "  - rule: amount > 0\n"
    )
    document = read_source(text, "trip.yaml")
    problems = check(document.content, registry=object(), document=document)
    rendered = [str(p) for p in problems]
    assert rendered == [
        "trip.yaml:8: /fields/0/currency: the text 'cny' must be an ISO 4217 currency code such as CNY or "
        "USD",
        'trip.yaml:11: /fields/1/label: required property "en" is missing',
        'trip.yaml:12: /fields/1/requried: unknown property "requried" (did you mean "required"?)',
        'trip.yaml:14: /validations/0: required property "message" is missing',
    ]


def test_wrong_or_missing_kind():
    assert check([1, 2], registry=object())[0].message.startswith("a definition must be a mapping")
    [problem] = check({"kind": "report", "key": "x"}, registry=object())
    assert problem.pointer == "/kind" and "unknown kind 'report'" in problem.message
    assert "kind is missing" in check({"key": "x"}, registry=object())[0].message
