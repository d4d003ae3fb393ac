"""Dashboards: cards with value, target, level and change against the previous period; trend and
bars; each viewer's scope; the page, its export, the API and the home page; bad definitions."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from formwork.definitions import store
from formwork.definitions.problems import DefinitionError

pytestmark = pytest.mark.usefixtures("claims")


def get(client, bearer, user, path, **params):
    response = client.get(path, query_string=params, headers={**bearer(user), "Accept-Language": "en"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def card(answer, kpi):
    return next(c for c in answer["cards"] if c["kpi"] == kpi)


def test_each_person_sees_the_dashboards_for_their_roles(client, bearer):
    assert [d["key"] for d in get(client, bearer, "carol", "/api/dashboards")["items"]] == [
        "finance",
        "department",
    ]
    assert [d["key"] for d in get(client, bearer, "bob", "/api/dashboards")["items"]] == ["department"]
    assert get(client, bearer, "alice", "/api/dashboards")["items"] == []
    response = client.get("/api/dashboards/finance", headers=bearer("alice"))
    assert response.status_code == 404


def test_cards_compare_with_the_same_days_of_the_previous_period(client, bearer):
    answer = get(client, bearer, "carol", "/api/dashboards/finance")
    total = card(answer, "expense_total")
    assert (Decimal(total["value"]), Decimal(total["previous"]), Decimal(total["change"])) == (
        Decimal("1400.00"),
        Decimal("50.00"),
        Decimal("1350.00"),
    )
    assert total["display"] == "CNY 0.14 wan"  # as the KPI says: in 万元
    ratio = card(answer, "expense_ratio")
    assert Decimal(ratio["value"]) == Decimal("100") / Decimal("1400") or ratio["value"].startswith("0.0714")
    assert ratio["level"] == "normal"
    assert {c["kpi"] for c in answer["cards"]} == {
        "expense_total",
        "expense_ratio",
        "budget_execution",
        "approval_hours",
        "overdue_rate",
        "first_pass_rate",
    }
    assert answer["to"] >= answer["from"] and answer["previous_to"] < answer["from"]


def test_the_same_dashboard_gives_each_viewer_their_own_numbers(client, bearer):
    bob = card(get(client, bearer, "bob", "/api/dashboards/department"), "expense_total")
    carol = card(get(client, bearer, "carol", "/api/dashboards/department"), "expense_total")
    assert (Decimal(bob["value"]), Decimal(carol["value"])) == (Decimal("400.00"), Decimal("1400.00"))


def test_trend_by_month_and_bars_by_department(client, bearer):
    answer = get(client, bearer, "carol", "/api/dashboards/finance")
    trend, bars = answer["charts"][0], answer["charts"][1]
    assert trend["type"] == "trend" and len(trend["labels"]) == 2
    assert [Decimal(v) for v in trend["values"]] == [Decimal("50.00"), Decimal("1400.00")]
    assert bars["type"] == "bars" and bars["title"] == "Expenses by department"
    # The company's bar would only add up the others: departments only.
    assert dict(zip(bars["labels"], [Decimal(v) for v in bars["values"]], strict=True)) == {
        "Sales": Decimal("400.00"),
        "Finance": Decimal("1000.00"),
    }
    assert answer["charts"][2]["kpi"] == "budget_execution"


def test_period_and_day_in_the_address(client, bearer):
    year = get(client, bearer, "carol", "/api/dashboards/finance", period="year")
    assert year["period"] == "year" and len(year["label"]) == 4
    response = client.get("/api/dashboards/finance?period=decade", headers=bearer("carol"))
    assert response.status_code == 400
    response = client.get("/api/dashboards/finance?at=2026-02-30", headers=bearer("carol"))
    assert response.status_code == 400


def test_the_page_draws_cards_and_charts_with_drill_down(client, login):
    login(client, "carol")
    page = client.get("/dashboards/finance", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "kpi-card--normal" in html and 'class="chart" data-chart=' in html
    assert "echarts-6.1.0.min.js" in html and "/kpis/expense_total/records?department=" in html
    assert client.get("/dashboards/finance?period=decade").status_code == 400
    login(client, "alice")
    assert client.get("/dashboards/finance").status_code == 404


def test_export_as_csv_and_excel(client, login):
    login(client, "carol")
    response = client.get("/dashboards/finance/export?format=csv", headers={"Accept-Language": "en"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["Section", "Indicator", "Point", "Value"]
    assert ["Card", "Expense total"] == rows[1][:2] or any(r[0] == "Card" for r in rows[1:])
    assert any(r[2] == "Sales" and Decimal(r[3]) == Decimal("400.00") for r in rows[1:] if r[2])
    response = client.get("/dashboards/finance/export?format=xlsx", headers={"Accept-Language": "en"})
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    values = [row for row in sheet.iter_rows(values_only=True)]
    assert any(row[2] == "Finance" and row[3] == Decimal("1000") for row in values[1:])
    assert client.get("/dashboards/finance/export?format=pdf").status_code == 400


def test_home_page_opens_with_the_persons_dashboard_cards(client, login):
    login(client, "carol")
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "kpi-card" in html and 'href="/dashboards/finance"' in html
    login(client, "alice")
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "kpi-card" not in html


@pytest.mark.parametrize(
    ("content", "pointer", "message"),
    [
        ({"cards": ["no_such_kpi"]}, "/cards/0", "unknown KPI 'no_such_kpi'"),
        (
            {"cards": ["expense_total"], "charts": [{"kpi": "budget_execution", "type": "trend"}]},
            "/charts/0/type",
            "no monthly trend",
        ),
    ],
)
def test_bad_dashboards_are_refused_at_publish(registry, content, pointer, message):
    definition = {"kind": "dashboard", "key": "bad", "title": {"zh-CN": "坏", "en": "Bad"}, **content}
    with pytest.raises(DefinitionError) as caught:
        store.publish(definition, registry=registry)
    (problem,) = caught.value.problems
    assert problem.pointer == pointer and message in problem.message
    assert store.current_version("dashboard", "bad") is None


def test_home_page_shows_approvals_waiting_and_requests_in_progress(client, login, bearer, published):
    submitted = client.post(
        "/api/forms/expense_claim/records",
        json={
            "data": {
                "category": "office",
                "reason": "Printer paper",
                "lines": [{"date": "2026-11-02", "type": "supplies", "amount": "120.00"}],
                "payee_name": "Alice",
                "payee_bank": "ICBC",
                "payee_account": "6222020200112233",
            },
            "submit": True,
        },
        headers=bearer("alice"),
    )
    assert submitted.status_code in (200, 201), submitted.get_json()
    login(client, "alice")
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "My requests in progress" in html and "waiting at" in html
    login(client, "bob")  # the head of Sales approves it first
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Waiting for your approval" in html and "Open: 1" in html
