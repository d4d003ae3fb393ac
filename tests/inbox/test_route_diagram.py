"""The route diagram: states of steps, the current step highlighted, parallel branches side by side,
the branch taken; and the inbox in Chinese."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from formwork.db_types import utcnow
from formwork.definitions import store
from formwork.extensions import db
from formwork.workflow.models import OPEN, Task

NAME = {"zh-CN": "步骤", "en": "Step"}


def countersign_route() -> dict:
    """Legal and finance in parallel, then the CFO when the total is 50,000 or more, else the cashier."""
    return {
        "kind": "route",
        "key": "expense_claim",
        "form": "expense_claim",
        "title": {"zh-CN": "会签", "en": "Countersign"},
        "steps": [
            {
                "parallel": {
                    "key": "countersign",
                    "name": {"zh-CN": "会签", "en": "Countersign"},
                    "branches": [
                        {
                            "name": {"zh-CN": "法务", "en": "Legal"},
                            "steps": [
                                {
                                    "key": "legal",
                                    "name": {"zh-CN": "法务审核", "en": "Legal review"},
                                    "approvers": [{"role": "legal_reviewer"}],
                                }
                            ],
                        },
                        {
                            "name": {"zh-CN": "财务", "en": "Finance"},
                            "steps": [
                                {
                                    "key": "finance",
                                    "name": {"zh-CN": "财务审核", "en": "Finance review"},
                                    "approvers": [{"role": "finance_reviewer"}],
                                }
                            ],
                        },
                    ],
                }
            },
            {
                "key": "cfo",
                "name": {"zh-CN": "财务总监", "en": "CFO approval"},
                "when": "total >= 50000",
                "approvers": [{"role": "cfo"}],
            },
            {
                "key": "cashier",
                "name": {"zh-CN": "出纳", "en": "Cashier pays"},
                "approvers": [{"role": "cashier"}],
            },
        ],
    }


def test_parallel_branches_side_by_side_with_states(client, login, bearer, submit):
    store.publish(countersign_route())  # a new version of the expense claim route
    record = submit("alice", "12000.00")
    ivan_task = db.session.scalar(
        select(Task.id).where(Task.record_id == record.id, Task.status == OPEN, Task.step_key == "legal")
    )
    assert (
        client.post(
            f"/api/tasks/{ivan_task}/decision", json={"action": "approve"}, headers=bearer("ivan")
        ).status_code
        == 200
    )
    route = client.get(f"/api/records/{record.id}/route", headers=bearer("alice")).get_json()
    parallel = route["nodes"][0]
    assert parallel["type"] == "parallel"
    assert [[(n["key"], n["state"]) for n in branch] for branch in parallel["branches"]] == [
        [("legal", "approved")],
        [("finance", "active")],
    ]
    # 12,000 is under the CFO's 50,000: the values decide it, so the step shows as skipped already.
    assert [(n["key"], n["state"], n["forecast"]) for n in route["nodes"][1:]] == [
        ("cfo", "skipped", True),
        ("cashier", "pending", False),
    ]
    login(client, "alice")
    html = client.get(f"/records/{record.id}").get_data(as_text=True)
    branches = html[html.index('class="route-branches"') :]
    assert branches.index("Legal review") < branches.index("Finance review")
    active = re.search(
        r'<div class="route-node route-node--active" aria-current="step">\s*'
        r'<span class="route-node__name">([^<]+)<',
        html,
    )
    assert active and active.group(1) == "Finance review"
    assert re.search(r'route-node--approved">\s*<span class="route-node__name">Legal review<', html)
    # A conditional step says when it runs: its "not yet" is not a promise that it will.
    assert route["nodes"][1]["condition"] == "total >= 50000" and route["nodes"][2]["condition"] is None
    # ... in words, never as the expression (this route gives it no when_label).
    assert "Only in some cases" in html and "total &gt;= 50000" not in html


def test_skipped_step_and_the_end(client, bearer, submit):
    record = submit("alice", "12000.00")  # under 50,000: the CFO step is skipped

    def approve(username: str) -> None:
        task_id = db.session.scalar(
            select(Task.id).where(Task.record_id == record.id, Task.status == OPEN, Task.kind == "approval")
        )
        assert (
            client.post(
                f"/api/tasks/{task_id}/decision", json={"action": "approve"}, headers=bearer(username)
            ).status_code
            == 200
        )

    for username in ("bob", "carol", "grace"):
        approve(username)
    route = client.get(f"/api/records/{record.id}/route", headers=bearer("alice")).get_json()
    assert [(n["key"], n["state"]) for n in route["nodes"]] == [
        ("department_head", "approved"),
        ("finance_review", "approved"),
        ("cfo", "skipped"),
        ("cashier", "approved"),
    ]
    assert route["end_state"] == "approved"


def test_inbox_in_chinese(client, login, submit):
    record = submit("alice")
    db.session.execute(
        update(Task)
        .where(Task.record_id == record.id)
        .values(created_at=utcnow() - timedelta(days=3, minutes=1))
    )
    db.session.commit()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    login(client, "bob")
    html = client.get("/inbox").get_data(as_text=True)
    assert "已等待 3天" in html and "待办：1" in html and "部门负责人审批" in html
