"""Bad KPI definitions are refused at publish with file, line and pointer; nothing is stored."""

from __future__ import annotations

import textwrap

import pytest

from formwork.definitions import store
from formwork.definitions.problems import DefinitionError

HEAD = """\
kind: kpi
key: {key}
title: {{zh-CN: 测试, en: Test}}
"""


def write(folder, name: str, body: str) -> None:
    (folder / "kpis").mkdir(exist_ok=True)
    (folder / "kpis" / f"{name}.yaml").write_text(HEAD.format(key=name) + textwrap.dedent(body), "utf-8")


def refused(folder, registry) -> list:
    with pytest.raises(DefinitionError) as caught:
        store.publish_path(folder, registry=registry)
    return caught.value.problems


LINE_MEASURE = """\
measures:
  amount:
    form: expense_claim
    aggregate: sum
    of: {of}
    date: lines.date
"""


@pytest.mark.parametrize(
    ("of", "message"),
    [
        ("lines.amout", "unknown field 'lines.amout' in form 'expense_claim'"),
        ("category", "sum needs a number, but 'category' is a choice field"),
        ("lines.date", "sum needs a number, but 'lines.date' is a date field"),
    ],
)
def test_missing_or_non_numeric_field(published, registry, tmp_path, of, message):
    write(tmp_path, "bad", LINE_MEASURE.format(of=of))
    (problem,) = refused(tmp_path, registry)
    assert problem.source.endswith("kpis/bad.yaml")
    assert problem.line == 8  # the line of `of:`
    assert problem.pointer == "/measures/amount/of"
    assert message in problem.message
    assert store.current_version("kpi", "bad") is None


def test_date_field_that_is_not_a_date(published, registry, tmp_path):
    body = LINE_MEASURE.format(of="lines.amount").replace("date: lines.date", "date: category")
    write(tmp_path, "bad", body)
    (problem,) = refused(tmp_path, registry)
    assert (problem.pointer, problem.line) == ("/measures/amount/date", 9)
    assert "not a date" in problem.message


def test_unknown_kpi_in_the_formula(published, registry, tmp_path):
    write(tmp_path, "bad", LINE_MEASURE.format(of="lines.amount") + "formula: amount / no_such_kpi\n")
    (problem,) = refused(tmp_path, registry)
    assert (problem.pointer, problem.line) == ("/formula", 10)
    assert "unknown measure or KPI 'no_such_kpi'" in problem.message


def test_kpis_in_a_cycle(published, registry, tmp_path):
    write(tmp_path, "first", LINE_MEASURE.format(of="lines.amount") + "formula: amount / second\n")
    write(tmp_path, "second", LINE_MEASURE.format(of="lines.amount") + "formula: amount / first\n")
    problems = refused(tmp_path, registry)
    assert {p.source.rsplit("/", 1)[-1] for p in problems} == {"first.yaml", "second.yaml"}
    for problem in problems:
        assert problem.pointer == "/formula" and problem.line == 10
        assert "cycle" in problem.message
    assert store.current_version("kpi", "first") is None


def test_a_kpi_naming_itself(published, registry, tmp_path):
    write(tmp_path, "selfish", LINE_MEASURE.format(of="lines.amount") + "formula: amount / selfish\n")
    (problem,) = refused(tmp_path, registry)
    assert "cycle: selfish → selfish" in problem.message


def test_mixed_currencies(published, registry, tmp_path):
    write(
        tmp_path,
        "bad",
        LINE_MEASURE.format(of="lines.amount")
        + "  budget:\n    budget: {currency: USD}\nformula: amount / budget\n",
    )
    (problem,) = refused(tmp_path, registry)
    assert "mixes currencies (CNY, USD)" in problem.message
    assert problem.pointer.startswith("/measures/") and problem.line is not None


def test_filter_checked_and_translatable(published, registry, tmp_path):
    body = LINE_MEASURE.format(of="lines.amount") + "    filter: upper(category) == 'TRAVEL'\n"
    write(tmp_path, "bad", body)
    (problem,) = refused(tmp_path, registry)
    assert (problem.pointer, problem.line) == ("/measures/amount/filter", 10)
    assert "runs in the database" in problem.message and "upper" in problem.message
    write(tmp_path, "bad", LINE_MEASURE.format(of="lines.amount") + "    filter: categroy == 'travel'\n")
    (problem,) = refused(tmp_path, registry)
    assert "categroy" in problem.message


def test_schema_problems_and_several_measures_without_formula(published, registry, tmp_path):
    write(tmp_path, "bad", LINE_MEASURE.format(of="lines.amount") + "    aggregate_: sum\nunit: euros\n")
    problems = refused(tmp_path, registry)
    assert {p.pointer for p in problems} == {"/measures/amount/aggregate_", "/unit"}
    write(
        tmp_path,
        "bad",
        LINE_MEASURE.format(of="lines.amount") + "  again:\n    form: expense_claim\n    aggregate: count\n"
        "    date: lines.date\n",
    )
    (problem,) = refused(tmp_path, registry)
    assert "formula must say how they combine" in problem.message


def test_good_kpi_publishes_and_is_versioned(published, registry, tmp_path):
    write(tmp_path, "good", LINE_MEASURE.format(of="lines.amount") + "formula: amount / t_sum\n")
    (result,) = store.publish_path(tmp_path, registry=registry)
    assert (result.definition.kind, result.definition.key, result.definition.version) == ("kpi", "good", 1)
    write(tmp_path, "good", LINE_MEASURE.format(of="lines.amount") + "formula: amount / t_sum * 100\n")
    (again,) = store.publish_path(tmp_path, registry=registry)
    assert again.definition.version == 2


def test_demo_kpis_validate_offline(runner):
    result = runner.invoke(args=["definitions", "validate"])
    assert result.exit_code == 0, result.output


def test_unknown_department_in_the_target(published, registry, tmp_path):
    body = (
        LINE_MEASURE.format(of="lines.amount")
        + "target:\n  good: lower\n  departments:\n    NOWHERE: {alert: 1}\n"
    )
    write(tmp_path, "bad", body)
    (problem,) = refused(tmp_path, registry)
    assert (problem.pointer, problem.line) == ("/target/departments/NOWHERE", 13)
    assert "unknown department 'NOWHERE'" in problem.message
