"""The demo history: months of claims and purchases submitted and decided through the real services
at the moments they happened, with budgets — so the KPIs and dashboards have something to show."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from formwork import business_time
from formwork.budgets.models import BudgetLine
from formwork.definitions import store
from formwork.extensions import db
from formwork.records.models import Record
from formwork.workflow.models import Process, Task

DEFINITIONS = Path(__file__).resolve().parents[1] / "definitions"


def test_generate_replays_months_of_work(demo_org, runner, client, bearer):
    from formwork.plugins import current_registry

    store.publish_path(DEFINITIONS, registry=current_registry())
    db.session.commit()
    result = runner.invoke(args=["demo", "generate", "--months", "3", "--per-month", "12"])
    assert result.exit_code == 0, result.output
    assert "demo history:" in result.output
    claims = db.session.scalar(select(func.count()).where(Record.form_key == "expense_claim"))
    assert claims >= 30
    created = sorted(business_time.local_date(r.created_at) for r in db.session.scalars(select(Record)))
    assert (created[-1] - created[0]).days >= 50  # spread over the months
    assert db.session.scalar(select(func.count()).where(Process.status == "approved")) > 10
    decided = db.session.scalars(select(Task).where(Task.decided_at.is_not(None))).all()
    assert all(t.decided_at >= t.created_at for t in decided)  # never decided before it arrived
    assert db.session.scalar(select(func.count()).select_from(BudgetLine)) > 0
    # The KPIs read it: the approval time and the expenses are there for finance.
    answer = client.get("/api/kpis/approval_hours", headers=bearer("carol")).get_json()
    assert answer["total"]["value"] is not None
    answer = client.get(
        "/api/kpis/expense_total", query_string={"by": "month"}, headers=bearer("carol")
    ).get_json()
    assert len(answer["rows"]) >= 2
    again = runner.invoke(args=["demo", "generate", "--if-empty"])
    assert again.exit_code == 0 and "nothing generated" in again.output
    refused = runner.invoke(args=["demo", "generate"])
    assert refused.exit_code != 0
