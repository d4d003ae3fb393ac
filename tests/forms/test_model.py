"""Compiling form definitions: every problem found at once, each at its exact JSON pointer."""

from __future__ import annotations

import pytest
from forms_samples import L, opt, sample_content

from formwork.definitions.problems import DefinitionError


def problems_of(compile_content, content) -> dict[str, str]:
    with pytest.raises(DefinitionError) as caught:
        compile_content(content)
    return {p.pointer: p.message for p in caught.value.problems}


def test_sample_form_compiles_with_paths_types_and_computed_order(form):
    assert form.key == "sample"
    assert form.title("en") == "Sample" and form.title("zh_CN") == "样例"
    assert [f.key for f in form.fields][:3] == ["reason", "category", "destination"]
    assert form.field("lines[3].unit_price") is form.field("lines.unit_price")
    assert form.field("lines[*].amount").path == "lines.amount"
    assert form.field("nope") is None
    order = [f.path for f in form.computed_order]
    assert order.index("lines.amount") < order.index("total")
    assert form.field("ref").readonly and form.field("total").readonly
    assert form.field("ref").default == "AUTO"
    assert "lines" in form.type_env.fields


def test_every_problem_is_reported_with_its_pointer(compile_content):
    content = sample_content()
    content["fields"][2]["visible_when"] = "category == "  # syntax error
    content["fields"][14]["fields"][4]["visible_when"] = "unit_price > 'x'"  # type error inside a row
    content["fields"][3]["min"] = 10
    content["fields"][3]["max"] = 5
    content["fields"][1]["options"] = []
    content["fields"].append({"key": "reason", "type": "text", "label": L})
    content["fields"].append({"key": "mystery", "type": "hologram", "label": L})
    content["validations"][0]["rule"] = "totl <= 5"
    problems = problems_of(compile_content, content)
    assert "/fields/2/visible_when" in problems
    assert "/fields/14/fields/4/visible_when" in problems
    assert problems["/fields/3/min"] == "min is greater than max"
    assert "options" in problems["/fields/1/options"]
    assert 'duplicate field key "reason"' in problems["/fields/17/key"]
    assert 'unknown field type "hologram"' in problems["/fields/18/type"]
    assert "totl" in problems["/validations/0/rule"]


def test_unknown_field_reference_names_the_field(compile_content):
    content = sample_content()
    content["fields"][15]["expression"] = "sum(lines.amout)"
    problems = problems_of(compile_content, content)
    assert list(problems) == ["/fields/15/expression"]
    assert "amout" in problems["/fields/15/expression"]


def test_syntax_error_reports_a_position(compile_content):
    content = sample_content()
    content["fields"][2]["visible_when"] = "category == 'travel' and and"
    message = problems_of(compile_content, content)["/fields/2/visible_when"]
    assert "position" in message


def test_computed_cycle_is_refused(compile_content):
    content = sample_content()
    content["fields"].append(
        {"key": "a", "type": "computed", "label": L, "result_type": "money", "expression": "b + 1"}
    )
    content["fields"].append(
        {"key": "b", "type": "computed", "label": L, "result_type": "money", "expression": "a + total"}
    )
    problems = problems_of(compile_content, content)
    cycle = [m for m in problems.values() if "cycle" in m]
    assert len(cycle) == 1 and "a" in cycle[0] and "b" in cycle[0]


def test_self_referencing_computed_field_is_a_cycle(compile_content):
    content = sample_content()
    content["fields"][15]["expression"] = "total + 1"
    assert "cycle" in problems_of(compile_content, content)["/fields/15/expression"]


def test_computed_result_type_is_checked_against_the_expression(compile_content):
    content = sample_content()
    content["fields"][15]["expression"] = "reason"  # text where money is declared
    assert "/fields/15/expression" in problems_of(compile_content, content)


def test_condition_must_be_boolean(compile_content):
    content = sample_content()
    content["fields"][2]["visible_when"] = "nights + 1"
    assert "/fields/2/visible_when" in problems_of(compile_content, content)


def test_unsafe_and_invalid_patterns_are_refused(compile_content):
    content = sample_content()
    for catastrophic in ("^(a+)+$", "(a|aa)*b", "(.*a){12}", r"^(\w+\s?)*$"):
        content["fields"][11]["pattern"] = catastrophic
        problems = problems_of(compile_content, content)
        assert "nested repetition" in problems["/fields/11/pattern"], catastrophic
    content["fields"][11]["pattern"] = ".*a.*a.*a.*a"
    assert "open-ended repeats" in problems_of(compile_content, content)["/fields/11/pattern"]
    content["fields"][11]["pattern"] = "([a-z]"
    assert "invalid pattern" in problems_of(compile_content, content)["/fields/11/pattern"]


def test_bad_default_nested_lines_and_validation_target(compile_content):
    content = sample_content()
    content["fields"][3]["default"] = "many"
    content["fields"][14]["fields"].append(
        {"key": "sub", "type": "lines", "label": L, "fields": [{"key": "x", "type": "text", "label": L}]}
    )
    content["validations"][0]["field"] = "lines[*].nothing"
    content["title_field"] = "missing"
    problems = problems_of(compile_content, content)
    assert "whole number" in problems["/fields/3/default"]
    assert "line items cannot contain line items" in problems["/fields/14/fields/6/type"]
    assert "does not exist" in problems["/validations/0/field"]
    assert "does not exist" in problems["/title_field"]


def test_choice_options_may_be_plain_values(compile_content):
    content = sample_content()
    content["fields"][1]["options"] = ["travel", "office", opt("other")]
    form = compile_content(content)
    assert list(form.field("category").settings["options"]) == ["travel", "office", "other"]


def test_row_condition_sees_the_row_first(compile_content):
    content = sample_content()
    # "date" exists only in the row; the form-level field of the same name would be shadowed.
    content["fields"][14]["fields"][4]["visible_when"] = "date > start"
    form = compile_content(content)
    assert form.field("lines.note").visible_when is not None


def test_demo_definitions_compile(registry):
    from pathlib import Path

    import yaml

    from formwork.forms.model import compile_form

    folder = Path(__file__).resolve().parents[2] / "definitions" / "forms"
    files = sorted(folder.glob("*.yaml"))
    assert files, "the demo definitions are missing"
    for path in files:
        content = yaml.safe_load(path.read_text("utf-8"))
        form = compile_form(content, registry)
        assert form.key == content["key"]
