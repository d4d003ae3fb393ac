"""The KPI API: which KPIs a person may see, bad parameters (400 with a clear message), OpenAPI."""

from __future__ import annotations

import pytest
from kpi_samples import TEST_KPIS, kpi, line_measure

from formwork.definitions import store

pytestmark = pytest.mark.usefixtures("claims")


def test_list_shows_what_the_caller_may_see(client, bearer, registry):
    store.publish(kpi("t_cfo_only", {"amount": line_measure("sum")}, viewers=["cfo"]), registry=registry)
    keys = {item["key"] for item in client.get("/api/kpis", headers=bearer("alice")).get_json()["items"]}
    assert keys == {content["key"] for content in TEST_KPIS}
    dave = client.get("/api/kpis", headers=bearer("dave")).get_json()["items"]
    assert "t_cfo_only" in {item["key"] for item in dave}
    assert client.get("/api/kpis/t_cfo_only", headers=bearer("alice")).status_code == 404
    assert client.get("/api/kpis/t_cfo_only/records", headers=bearer("alice")).status_code == 404
    assert client.get("/api/kpis/t_cfo_only", headers=bearer("dave")).status_code == 200
    ratio = next(item for item in dave if item["key"] == "t_travel_ratio")
    assert ratio["unit"] == "percent" and ratio["target"] == {
        "good": "lower",
        "value": "0.4",
        "warning": "0.5",
        "alert": "0.7",
    }


def test_anonymous_and_unknown(client, bearer):
    assert client.get("/api/kpis").status_code == 401
    assert client.get("/api/kpis/t_sum").status_code == 401
    response = client.get("/api/kpis/no_such_kpi", headers=bearer("carol"))
    assert response.status_code == 404 and response.get_json()["error"]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("by=colour", 'unknown dimension "colour"'),
        ("by=month,quarter", "one time grain"),
        ("by=month,month", "named twice"),
        ("by=Month", '"by"'),
        ("from=2026-02-30", "real date"),
        ("from=２０２６-01-01", '"from"'),
        ("from=2026-03-01&to=2026-02-01", "from is after to"),
        ("department=99999999999", "whole number"),
        ("department=abc", "whole number"),
        ("department=1&department=2", "once"),
        ("month=2026-13-45-1", '"month"'),
        ("colour=red", 'unknown dimension "colour"'),
        ("cat-x=1", "unknown parameter"),
        ("category=" + "x" * 101, "at most 100 characters"),
        ("category=tr%00vel", "NUL"),
    ],
)
def test_bad_parameters(client, bearer, query, words):
    response = client.get(f"/api/kpis/t_sum?{query}", headers={**bearer("carol"), "Accept-Language": "en"})
    assert response.status_code == 400, response.get_json()
    assert words in response.get_json()["error"]


def test_messages_in_chinese(client, bearer):
    response = client.get(
        "/api/kpis/t_sum?by=colour", headers={**bearer("carol"), "Accept-Language": "zh-CN"}
    )
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("未知维度“colour”")


def test_bad_drill_down_parameters(client, bearer):
    response = client.get("/api/kpis/t_execution/records?measure=t_execution.budget", headers=bearer("carol"))
    assert response.status_code == 400
    assert "t_execution.spent" in response.get_json()["error"]
    response = client.get("/api/kpis/t_sum/records?measure=bad", headers=bearer("carol"))
    assert response.status_code == 400


def test_referenced_kpi_measure_can_be_drilled(client, bearer):
    body = client.get(
        "/api/kpis/t_travel_ratio/records?measure=t_sum.amount&month=2026-02", headers=bearer("carol")
    ).get_json()
    assert body["value"] == "450.00" and len(body["rows"]) == 2


def test_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {"/api/kpis", "/api/kpis/{key}", "/api/kpis/{key}/records"} <= set(paths)
    assert "by" in {p["name"] for p in paths["/api/kpis/{key}"]["get"]["parameters"]}
