"""The route diagram in people's words: conditions by their label, never the expression; expected
approvers of steps ahead; a step the values rule out shown skipped; a step's own outcome word
(the cashier's 已付款 / Paid); the people a step copies."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from formwork.definitions import store
from formwork.definitions.problems import DefinitionError
from formwork.extensions import db
from formwork.workflow.models import OPEN, Task

ROOT = Path(__file__).resolve().parents[2]


def _steps(route: dict) -> dict[str, dict]:
    return {node["key"]: node for node in route["nodes"] if node["type"] == "step"}


def _approve(client, bearer, record_id: int, username: str) -> None:
    task = db.session.scalar(
        select(Task.id).where(Task.record_id == record_id, Task.status == OPEN, Task.kind == "approval")
    )
    response = client.post(
        f"/api/tasks/{task}/decision", json={"action": "approve"}, headers=bearer(username)
    )
    assert response.status_code == 200, response.get_json()


def test_steps_ahead_name_who_is_expected_and_what_is_skipped(client, login, bearer, submit):
    record = submit("alice", "12000.00", reason="Workshop")
    steps = _steps(client.get(f"/api/records/{record.id}/route", headers=bearer("alice")).get_json())
    assert steps["department_head"]["state"] == "active" and steps["department_head"]["people"] == [
        "鲍勃 Bob"
    ]
    assert steps["finance_review"]["state"] == "pending"
    assert steps["finance_review"]["expected"] == ["卡罗尔 Carol"]
    # 12,000 is under 50,000: the CFO step is ruled out by the values, and says so in words.
    assert (steps["cfo"]["state"], steps["cfo"]["forecast"], steps["cfo"]["expected"]) == (
        "skipped",
        True,
        [],
    )
    assert steps["cfo"]["condition_label"] == "the total is 50,000 or more"
    assert steps["cashier"]["expected"] == ["格蕾丝 Grace"]
    assert steps["cashier"]["copied"] == ["卡罗尔 Carol"]

    login(client, "alice")
    html = client.get(f"/records/{record.id}").get_data(as_text=True)
    assert "Expected: 卡罗尔 Carol" in html
    assert "Only when the total is 50,000 or more" in html and "total &gt;= 50000" not in html
    assert "Not needed for this request" in html
    assert "Copy to: 卡罗尔 Carol" in html


def test_a_large_claim_expects_the_cfo(client, bearer, submit):
    record = submit("alice", "52000.00", reason="Conference")
    steps = _steps(client.get(f"/api/records/{record.id}/route", headers=bearer("alice")).get_json())
    assert (steps["cfo"]["state"], steps["cfo"]["forecast"]) == ("pending", False)
    assert steps["cfo"]["expected"] == ["戴维 Dave"]


def test_the_cashier_step_says_paid(client, login, bearer, submit):
    record = submit("alice", "300.00", reason="Taxi")
    for username in ("bob", "carol", "grace"):
        _approve(client, bearer, record.id, username)
    route = client.get(f"/api/records/{record.id}/route", headers=bearer("alice")).get_json()
    cashier = _steps(route)["cashier"]
    assert (cashier["state"], cashier["outcome_label"]) == ("approved", "Paid")
    assert _steps(route)["finance_review"]["outcome_label"] is None
    history = client.get(f"/api/records/{record.id}/history", headers=bearer("alice")).get_json()["items"]
    outcomes = [
        item.get("outcome") for item in history if item.get("step", {}) and item["step"]["key"] == "cashier"
    ]
    assert "Paid" in outcomes
    login(client, "alice")
    html = client.get(f"/records/{record.id}").get_data(as_text=True)
    assert "Paid</span>" in html


def test_when_label_needs_a_when(app):
    route = yaml.safe_load((ROOT / "definitions/routes/expense_claim.yaml").read_text("utf-8"))
    route["steps"][0]["when_label"] = {"zh-CN": "总是", "en": "always"}
    with pytest.raises(DefinitionError) as caught:
        store.publish(route)
    assert "when_label describes a condition" in str(caught.value.problems)
