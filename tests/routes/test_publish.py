"""Routes in the definition pipeline: the demo routes, folders published with their forms, versions, CLI and
API.
"""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from formwork.definitions import store
from formwork.definitions.models import DefinitionVersion
from formwork.definitions.pipeline import check_files, discover, schema_for
from formwork.definitions.problems import DefinitionError
from formwork.extensions import db
from formwork.forms import catalogue
from formwork.routes.compile import rule_for_alert, rule_for_case, rule_for_step
from formwork.routes.model import Branch, Parallel, Step
from formwork.routes.store import compiled_route, form_for_route, route_for_form

from .conftest import BASE, ROOT


@pytest.fixture
def definitions_copy(tmp_path):
    """The shipped forms and routes in a folder of their own, to break and publish."""
    target = tmp_path / "defs"
    shutil.copytree(ROOT / "definitions" / "forms", target / "forms")
    shutil.copytree(ROOT / "definitions" / "routes", target / "routes")
    return target


def _versions() -> int:
    return db.session.scalar(select(func.count()).select_from(DefinitionVersion))


def test_the_schema_is_draft_2020_12_and_closed():
    schema = schema_for("route")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["step"]["additionalProperties"] is False
    assert schema["$defs"]["text_both"]["required"] == ["zh-CN", "en"]


def test_shipped_routes_are_discovered_and_valid(app, demo_org):
    files = discover(ROOT / "definitions")
    assert {f.name for f in files if f.parent.name == "routes"} == {
        "expense_claim.yaml",
        "purchase_request.yaml",
        "contract_payment.yaml",
        "permission_request.yaml",
    }
    assert [str(p) for item in check_files(files) for p in item.problems] == []


def test_a_folder_publishes_forms_then_routes_in_one_run(app, demo_org, definitions_copy):
    results = store.publish_path(definitions_copy)
    kinds = [r.definition.kind for r in results]
    assert kinds == sorted(kinds, key=("form", "route").index)  # forms first
    assert all(r.created for r in results)
    # Every route was published against its form of the same run.
    for key in ("expense_claim", "purchase_request", "contract_payment", "permission_request"):
        route = route_for_form(key)
        assert route is not None and form_for_route(route).key == key
    # Publishing again changes nothing.
    count = _versions()
    assert all(not r.created for r in store.publish_path(definitions_copy))
    assert _versions() == count


def test_a_changed_route_is_a_new_version_and_the_old_one_still_compiles(app, demo_org, definitions_copy):
    store.publish_path(definitions_copy)
    first = route_for_form("expense_claim")
    path = definitions_copy / "routes" / "expense_claim.yaml"
    path.write_text(path.read_text("utf-8").replace("total >= 50000", "total >= 80000"), "utf-8")
    results = {(r.definition.kind, r.definition.key): r for r in store.publish_path(definitions_copy)}
    assert results[("route", "expense_claim")].created and not results[("form", "expense_claim")].created
    second = route_for_form("expense_claim")
    assert (first.version, second.version) == (1, 2)
    assert compiled_route(first).conditions[rule_for_step("cfo")] == "total >= 50000"
    assert compiled_route(second).conditions[rule_for_step("cfo")] == "total >= 80000"
    assert compiled_route(first).ruleset.name != compiled_route(second).ruleset.name


def test_a_bad_route_publishes_nothing_not_even_its_form(app, demo_org, definitions_copy):
    path = definitions_copy / "routes" / "contract_payment.yaml"
    path.write_text(path.read_text("utf-8").replace("role: legal_reviewer", "role: lawyer"), "utf-8")
    with pytest.raises(DefinitionError) as caught:
        store.publish_path(definitions_copy)
    problem = caught.value.problems[0]
    assert 'unknown role "lawyer"' in problem.message and problem.line is not None
    assert problem.pointer == "/steps/0/parallel/branches/0/steps/0/approvers/0/role"
    assert _versions() == 0


def test_a_route_alone_needs_its_form_published(app, demo_org, definitions_copy):
    with pytest.raises(DefinitionError) as caught:
        store.publish_path(definitions_copy / "routes" / "contract_payment.yaml")
    assert caught.value.problems[0].pointer == "/form"
    store.publish_path(definitions_copy / "forms" / "contract_payment.yaml")
    assert store.publish_path(definitions_copy / "routes" / "contract_payment.yaml")[0].created


def test_publish_all_sees_the_form_of_the_same_batch(app, demo_org):
    from formwork.definitions.loader import read_source

    form = read_source(ROOT / "definitions" / "forms" / "expense_claim.yaml").content
    route = read_source(BASE, "claims.yaml").content
    published = store.publish_all([(route, "claims.yaml"), (form, "expense_claim.yaml")])
    assert [p.definition.kind for p in published] == ["form", "route"]
    assert compiled_route(route_for_form("expense_claim")).key == "claims"


def test_demo_expense_claim_route(app, demo_org):
    store.publish_path(ROOT / "definitions")
    route = compiled_route(route_for_form("expense_claim"))
    assert [n.key for n in route.nodes] == ["department_head", "finance_review", "cfo", "cashier"]
    assert route.title == {"zh-CN": "费用报销审批", "en": "Expense claim approval"}
    assert route.self_approval == "send_up" and route.no_approver == "fallback"
    assert [(a.kind, a.value) for a in route.fallback] == [("user", "admin")]
    cfo = route.steps["cfo"]
    assert cfo.when == rule_for_step("cfo") and route.conditions[cfo.when] == "total >= 50000"
    assert (cfo.on_reject, cfo.return_to) == ("return_to_step", "finance_review")
    assert route.steps["finance_review"].mode == "any"
    assert route.steps["finance_review"].deadline.on_timeout == "escalate"
    assert route.steps["department_head"].approvers[0].kind == "department_head"
    (alert,) = route.alerts
    assert alert.when == rule_for_alert("duplicate_invoice") and alert.notify[0].value == "finance_reviewer"
    assert route.facts == {"duplicate_invoices"}
    assert route.ruleset.name.startswith("route_expense_claim_") and route.ruleset.name.endswith("_v1")
    assert set(route.ruleset.rule_names) == {rule_for_step("cfo"), rule_for_alert("duplicate_invoice")}


def test_demo_purchase_request_route(app, demo_org):
    store.publish_path(ROOT / "definitions")
    route = compiled_route(route_for_form("purchase_request"))
    head, check = route.nodes
    assert isinstance(head, Step) and isinstance(check, Branch)
    (within,) = check.cases
    assert within.when == rule_for_case("budget_check", 0)
    assert route.conditions[within.when] == "estimated_total <= $budget.remaining"
    assert [n.key for n in within.nodes] == ["purchasing"]
    assert [n.key for n in check.otherwise] == ["cfo_over_budget", "purchasing_over_budget"]
    purchasing = route.steps["purchasing"].approvers[0]
    assert (purchasing.kind, purchasing.department) == ("department_head", "PUR")
    assert route.facts == {"budget"}
    assert route.fact_settings["budget"] == {
        "category": "budget_category",
        "amount": "estimated_total",
        "department": "department",
    }


def test_demo_contract_payment_route(app, demo_org):
    store.publish_path(ROOT / "definitions")
    route = compiled_route(route_for_form("contract_payment"))
    countersign, cfo = route.nodes
    assert isinstance(countersign, Parallel) and isinstance(cfo, Step) and cfo.key == "cfo"
    assert [[s.key for s in branch] for branch in countersign.branches] == [
        ["legal_review"],
        ["finance_review"],
    ]
    assert {s.approvers[0].value for branch in countersign.branches for s in branch} == {
        "legal_reviewer",
        "finance_reviewer",
    }
    assert all(s.mode == "all" for branch in countersign.branches for s in branch)
    assert route.ruleset is None and route.conditions == {}
    form = catalogue.compiled_form(store.current("form", "contract_payment"))
    assert form.title("zh-CN") == "合同付款" and form.field("amount").type.name == "money"
    assert [f.key for f in form.fields][:4] == ["contract_no", "payee", "instalment", "amount"]


def test_cli_validates_and_publishes_routes(app, demo_org, runner, definitions_copy):
    result = runner.invoke(args=["definitions", "validate", str(definitions_copy)])
    assert result.exit_code == 0 and "8 definition(s) valid" in result.output, result.output
    path = definitions_copy / "routes" / "expense_claim.yaml"
    path.write_text(
        path.read_text("utf-8").replace(
            "deadline: {hours: 48, remind_every_hours: 24, on_timeout: remind}", "deadline: {hours: -1}"
        ),
        "utf-8",
    )
    result = runner.invoke(args=["definitions", "publish", str(definitions_copy)])
    assert result.exit_code == 1
    line = [ln for ln in result.output.splitlines() if "/steps/0/deadline/hours" in ln][0]
    assert line.startswith(str(path)) or "expense_claim.yaml:" in line
    assert "more than 0 hours" in line and _versions() == 0


def test_api_validates_and_publishes_a_route(app, demo_org, client, bearer):
    admin = bearer("admin")
    store.publish_path(ROOT / "definitions" / "forms")
    response = client.post(
        "/api/definitions/validate",
        json={"source": BASE.replace("head: 0", "head: -1"), "name": "r.yaml"},
        headers=admin,
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["pointer"] == "/steps/0/approvers/0/department_head"
    response = client.post(
        "/api/definitions/validate",
        json={"source": BASE + "    when: totl > 1\n", "name": "r.yaml"},
        headers=admin,
    )
    assert response.status_code == 422
    (error,) = response.get_json()["errors"]
    assert error["pointer"] == "/steps/1/when" and error["line"] == 15 and error["source"] == "r.yaml"
    response = client.post("/api/definitions/publish", json={"source": BASE, "name": "r.yaml"}, headers=admin)
    assert response.status_code == 201 and response.get_json()["kind"] == "route"
    assert client.get("/api/definitions?kind=route", headers=admin).get_json()["items"][0]["key"] == "claims"
    assert (
        client.get("/api/definitions/schema/route", headers=admin).get_json()["$id"]
        == "urn:formwork:definitions:route"
    )


def test_a_form_cannot_break_its_published_route(app, demo_org, definitions_copy):
    store.publish_path(definitions_copy)
    form = definitions_copy / "forms" / "expense_claim.yaml"
    form.write_text(
        form.read_text("utf-8")
        .replace("key: total\n", "key: grand_total\n")
        .replace("cn_amount(total)", "cn_amount(grand_total)")
        .replace("total <= 20000", "grand_total <= 20000")
        .replace("field: total", "field: grand_total"),
        "utf-8",
    )
    with pytest.raises(DefinitionError) as caught:
        store.publish_path(definitions_copy / "forms" / "expense_claim.yaml")
    problem = caught.value.problems[0]
    assert (
        problem.pointer == "/fields"
        and 'route "expense_claim" (version 1) would no longer work' in problem.message
    )
    assert "/steps/2/when" in problem.message and "total" in problem.message
    # Changed together with its route, in one publish, the form goes through.
    route = definitions_copy / "routes" / "expense_claim.yaml"
    route.write_text(
        route.read_text("utf-8").replace("when: total >= 50000", "when: grand_total >= 50000"), "utf-8"
    )
    results = {(r.definition.kind, r.definition.key): r for r in store.publish_path(definitions_copy)}
    assert results[("form", "expense_claim")].created and results[("route", "expense_claim")].created
    new_route = route_for_form("expense_claim")
    assert form_for_route(new_route).version == 2
    assert compiled_route(new_route).conditions[rule_for_step("cfo")] == "grand_total >= 50000"


# ---- a fact keyed by a field the submitter may set freely: a warning, never a refusal ---------


@pytest.fixture
def free_department(definitions_copy):
    """The shipped definitions with the purchase request's department field left unconstrained."""
    form = definitions_copy / "forms" / "purchase_request.yaml"
    text = form.read_text("utf-8")
    assert "    choices: own_and_below\n    any_for_roles: [cfo]\n" in text
    form.write_text(text.replace("    choices: own_and_below\n    any_for_roles: [cfo]\n", ""), "utf-8")
    return definitions_copy


FREE_BUDGET = '$budget is chosen by field "department", which the submitter may set to any value'


def test_the_shipped_purchase_route_has_no_warning(app, demo_org):
    problems = [p for item in check_files(discover(ROOT / "definitions")) for p in item.problems]
    assert problems == []


def test_a_budget_keyed_by_a_free_department_field_is_a_warning(app, demo_org, free_department):
    checked = {item.path.name: item.problems for item in check_files(discover(free_department))}
    [warning] = checked["purchase_request.yaml"]
    assert warning.warning and warning.pointer == "/facts/budget/department"
    assert FREE_BUDGET in warning.message and warning.line is not None
    # It never stops publishing; the publisher is told.
    results = store.publish_path(free_department)
    route = next(
        r for r in results if r.definition.kind == "route" and r.definition.key == "purchase_request"
    )
    assert route.created and [w.pointer for w in route.warnings] == ["/facts/budget/department"]


def test_cli_validate_and_publish_show_the_warning_without_failing(app, demo_org, runner, free_department):
    org = ROOT / "definitions" / "org" / "demo.yaml"
    offline = runner.invoke(args=["definitions", "validate", "--org", str(org), str(free_department)])
    assert offline.exit_code == 0, offline.output
    assert "warning: " + FREE_BUDGET in offline.output and "1 warning(s)" in offline.output
    published = runner.invoke(args=["definitions", "publish", str(free_department)])
    assert published.exit_code == 0, published.output
    assert "warning: " + FREE_BUDGET in published.output
    assert "published: route purchase_request" in published.output
    database = runner.invoke(args=["definitions", "validate", "--database", str(free_department)])
    assert database.exit_code == 0 and "warning: " + FREE_BUDGET in database.output, database.output


def test_api_validate_and_publish_return_the_warning(app, demo_org, client, bearer, free_department):
    admin = bearer("admin")
    form = (free_department / "forms" / "purchase_request.yaml").read_text("utf-8")
    route = (free_department / "routes" / "purchase_request.yaml").read_text("utf-8")
    answer = client.post("/api/definitions/publish", json={"source": form, "name": "f.yaml"}, headers=admin)
    assert answer.status_code == 201
    body = {"source": route, "name": "purchase_request.yaml"}
    validated = client.post("/api/definitions/validate", json=body, headers=admin)
    assert validated.status_code == 200 and validated.get_json()["valid"] is True
    [warning] = validated.get_json()["warnings"]
    assert warning["pointer"] == "/facts/budget/department" and FREE_BUDGET in warning["message"]
    published = client.post("/api/definitions/publish", json=body, headers=admin)
    assert published.status_code == 201
    assert [w["pointer"] for w in published.get_json()["warnings"]] == ["/facts/budget/department"]
