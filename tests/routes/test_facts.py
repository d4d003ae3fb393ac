"""Fact providers: the built-ins, and a plugin adding one that routes can read."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from formwork.definitions import store
from formwork.definitions.loader import read_source
from formwork.expressions import T
from formwork.extensions import db
from formwork.forms.state import context_for
from formwork.plugins import PluginError, current_registry
from formwork.routes.compile import rule_for_step
from formwork.routes.conditions import evaluation_input, holding
from formwork.routes.facts import FactProvider, compute_facts
from formwork.routes.store import compiled_route, route_for_form

from .conftest import BASE, ROOT, find
from .test_conditions import claim


@pytest.fixture
def claims_route(app, demo_org):
    store.publish_path(ROOT / "definitions")
    return compiled_route(route_for_form("expense_claim"))


def _duplicates(route, record) -> int:
    _, context = evaluation_input(route, record, context=context_for(record.owner))
    return context["duplicate_invoices"]


def test_duplicate_invoices_counts_numbers_seen_on_other_live_claims(claims_route, demo_org):
    alice, erin = demo_org["alice"], demo_org["erin"]
    mine = claim(alice, "office", ["10", "20", "30"], ["11110001", "11110002", "11110003"])
    assert _duplicates(claims_route, mine) == 0
    other = claim(erin, "other", ["5", "6"], ["11110002", "11110003"])
    assert _duplicates(claims_route, mine) == 2 and _duplicates(claims_route, other) == 2
    other.status = "withdrawn"
    db.session.commit()
    assert _duplicates(claims_route, mine) == 0
    other.status = "rejected"  # a rejected claim still holds its invoices: a resubmission is worth a look
    db.session.commit()
    assert _duplicates(claims_route, mine) == 2
    other.status = "draft"
    db.session.commit()
    assert _duplicates(claims_route, mine) == 0


def test_a_claim_without_invoice_numbers_has_no_duplicates(claims_route, demo_org):
    claim(demo_org["erin"], "other", ["5"], ["11110009"])
    assert _duplicates(claims_route, claim(demo_org["alice"], "office", ["1"])) == 0


def test_a_plugin_adds_a_fact_that_routes_read(app, demo_org):
    registry = current_registry()
    calls = []

    def credit_limit(request):
        calls.append(request.record.id)
        return request.values["total"] * 2 if request.values.get("total") is not None else None

    provider = FactProvider("credit_limit", T.MONEY, credit_limit, description="Twice the total (a test)")
    assert registry.load_plugin("credit", lambda reg: reg.add_fact_provider(provider))
    try:
        with pytest.raises(PluginError):
            registry.add_fact_provider(FactProvider("budget", T.INTEGER, credit_limit))
        store.publish_path(ROOT / "definitions" / "forms")
        source = BASE + "    when: $credit_limit > 100\n"
        store.publish(read_source(source, "claims.yaml").content)
        route = compiled_route(route_for_form("expense_claim"))
        assert route.facts == {"credit_limit"}
        big = claim(demo_org["alice"], "office", ["60"])
        small = claim(demo_org["alice"], "office", ["40"])
        assert holding(route, big, context=context_for(big.owner)) == {rule_for_step("finance")}
        assert holding(route, small, context=context_for(small.owner)) == set()
        assert calls == [big.id, small.id]
    finally:
        registry.facts.pop("credit_limit", None)


def test_a_failing_plugin_leaves_no_fact_behind(app):
    registry = current_registry()

    def broken(reg):
        reg.add_fact_provider(FactProvider("half_done", T.INTEGER, lambda request: 1))
        raise RuntimeError("boom")

    assert not registry.load_plugin("broken", broken)
    assert "half_done" not in registry.facts


def test_a_removed_provider_is_a_clear_error(app):
    with pytest.raises(LookupError, match=r"\$gone"):
        compute_facts(
            {"gone"}, current_registry(), record=None, form=None, values={}, settings={}, today=date.today()
        )


def test_budget_settings_are_checked_against_the_form(app, demo_org):
    store.publish_path(ROOT / "definitions" / "forms")
    text = (
        (ROOT / "definitions" / "routes" / "purchase_request.yaml")
        .read_text("utf-8")
        .replace("amount: estimated_total", "amount: subject")
        .replace("department: department", "department: needed_by")
    )
    from formwork.definitions.pipeline import check

    document = read_source(text, "purchase_request.yaml")
    problems = check(document.content, None, document)
    assert "must be a money field" in find(problems, "/facts/budget/amount").message
    assert "must be a department field" in find(problems, "/facts/budget/department").message
    assert find(problems, "/facts/budget/amount").line == document.line_for("/facts/budget/amount")


def test_a_fact_read_only_by_alerts_is_computed_when_the_request_starts_only(
    claims_route, demo_org, monkeypatch
):
    """The demo claim route reads $duplicate_invoices in its alert only: later transitions skip it."""
    from formwork.workflow import service
    from formwork.workflow.models import OPEN, Task, TrailEntry
    from formwork.workflow.submission import create_record

    assert claims_route.facts == {"duplicate_invoices"} and claims_route.step_facts == frozenset()
    provider = current_registry().facts["duplicate_invoices"]
    calls: list[int] = []

    def counting(request):
        calls.append(request.record.id)
        return provider.compute(request)

    monkeypatch.setitem(
        current_registry().facts,
        "duplicate_invoices",
        replace(provider, compute=counting),
    )
    claim(demo_org["erin"], "office", ["5"], ["77770001"])
    data = {
        "category": "other",
        "reason": "Workshop",
        "payee_name": "X",
        "payee_bank": "ICBC",
        "payee_account": "6222021234567890123",
        "lines": [
            {
                "date": date.today().isoformat(),
                "type": "other",
                "amount": "60000.00",
                "invoice_no": "77770001",
            }
        ],
    }
    record = create_record("expense_claim", data, demo_org["alice"], submit=True)
    assert calls == [record.id]  # evaluated once, at the start, where the alert is raised
    alerts = db.session.scalars(
        db.select(TrailEntry).where(TrailEntry.record_id == record.id, TrailEntry.action == "alert")
    ).all()
    assert len(alerts) == 1 and alerts[0].details["alert"] == "duplicate_invoice"
    # bob's approval activates finance review; carol's evaluates the CFO condition (total >= 50000).
    for username in ("bob", "carol"):
        task = db.session.scalar(
            db.select(Task).where(
                Task.record_id == record.id, Task.status == OPEN, Task.assignee_id == demo_org[username].id
            )
        )
        service.decide(task.id, demo_org[username], "approve")
    waiting = db.session.scalars(
        db.select(Task.step_key).where(Task.record_id == record.id, Task.status == OPEN)
    ).all()
    assert waiting == ["cfo"]
    assert calls == [record.id]  # and never again
