"""Process KPIs from the approval history, against hand-computed figures, on the database the run
uses: time per step (average and percentiles), overdue, return and first-pass rates, open tasks
per approver, throughput by week; business days in the business time zone; scope; drill-down.

The history (UTC instants; Asia/Shanghai is 8 hours ahead), on the claims of kpi_samples.py:

| task | claim | step | approver | arrived | decided | hours | outcome | due |
|---|---|---|---|---|---|---|---|---|
| T1 | 1 alice SALES | manager | bob | 01-10 01:00 | 01-10 03:00 | 2 | approved | 01-11 01:00 |
| T2 | 1 | finance | carol | 01-10 03:00 | 01-12 03:00 | 48 | approved | 01-11 03:00 (late) |
| T3 | 2 frank SALES | manager | bob | 01-20 00:00 | 01-20 16:30 (01-21 local) | 16.5 | returned | — |
| T4 | 2 | manager | bob | 01-21 02:00 | 01-21 06:00 | 4 | approved | — |
| T5 | 2 | finance | carol | 01-21 06:00 | 01-22 06:00 | 24 | approved | 01-22 00:00 (late) |
| T6 | 3 alice SALES | manager | bob | 01-15 00:00 | 01-15 01:00 | 1 | rejected | — |
| T7 | 4 grace FIN | manager | carol | 02-01 00:00 | 02-01 10:00 | 10 | approved | — |
| T8 | 4 | finance | carol | 02-01 10:00 | open | | | 02-02 10:00 (late) |

Requests: claim 1 approved at 01-12 03:00 after 50 hours (first pass), claim 2 approved at
01-22 06:00 after 54 hours (returned once), claim 3 rejected at 01-15 01:00 after 1 hour;
claim 4 still running.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from kpi_samples import TITLE

from formwork.definitions import store
from formwork.definitions.problems import DefinitionError
from formwork.extensions import db
from formwork.org.models import Department, User
from formwork.workflow.models import Process, Task


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-{text}").replace(tzinfo=timezone.utc)


# (claim index, step, approver, arrived, decided or None, status, due)
TASKS = [
    (0, "manager", "bob", "01-10T01:00", "01-10T03:00", "approved", "01-11T01:00"),
    (0, "finance", "carol", "01-10T03:00", "01-12T03:00", "approved", "01-11T03:00"),
    (1, "manager", "bob", "01-20T00:00", "01-20T16:30", "returned", None),
    (1, "manager", "bob", "01-21T02:00", "01-21T06:00", "approved", None),
    (1, "finance", "carol", "01-21T06:00", "01-22T06:00", "approved", "01-22T00:00"),
    (2, "manager", "bob", "01-15T00:00", "01-15T01:00", "rejected", None),
    (3, "manager", "carol", "02-01T00:00", "02-01T10:00", "approved", None),
    (3, "finance", "carol", "02-01T10:00", None, "open", "02-02T10:00"),
]
# (claim index, started, status, finished)
PROCESSES = [
    (0, "01-10T01:00", "approved", "01-12T03:00"),
    (1, "01-20T00:00", "approved", "01-22T06:00"),
    (2, "01-15T00:00", "rejected", "01-15T01:00"),
    (3, "02-01T00:00", "running", None),
]


def measure(source: str, aggregate: str = "count", **extra) -> dict:
    process = {"source": source}
    for name in ("form", "step", "where"):
        if name in extra:
            process[name] = extra.pop(name)
    return {"process": process, "aggregate": aggregate, **extra}


def kpi(key: str, measures: dict, **extra) -> dict:
    return {"kind": "kpi", "key": key, "title": TITLE, "measures": measures, **extra}


PROCESS_KPIS = [
    kpi("p_decided", {"tasks": measure("decided_tasks")}),
    kpi("p_hours", {"hours": measure("decided_tasks", "avg", of="hours")}),
    kpi("p_hours_p50", {"hours": measure("decided_tasks", "p50", of="hours")}),
    kpi("p_hours_p90", {"hours": measure("decided_tasks", "p90", of="hours")}),
    kpi("p_hours_max", {"hours": measure("decided_tasks", "max", of="hours")}),
    kpi(
        "p_overdue_rate",
        {"late": measure("decided_tasks", where="overdue"), "all": measure("decided_tasks")},
        formula="late / all",
        unit="percent",
    ),
    kpi(
        "p_return_rate",
        {"returned": measure("decided_tasks", where="returned"), "all": measure("decided_tasks")},
        formula="returned / all",
        unit="percent",
    ),
    kpi(
        "p_first_pass",
        {"first": measure("finished_requests", where="first_pass"), "all": measure("finished_requests")},
        formula="first / all",
        unit="percent",
    ),
    kpi("p_open", {"open": measure("open_tasks")}),
    kpi("p_open_late", {"open": measure("open_tasks", where="overdue")}),
    kpi("p_throughput", {"done": measure("finished_requests", form="expense_claim")}),
    kpi("p_cycle_days", {"days": measure("finished_requests", "avg", of="days")}),
]


@pytest.fixture
def history(claims, registry):
    users = {u.username: u for u in db.session.query(User)}
    route = store.current_version("route", "expense_claim")
    processes = []
    for index, started, status, finished in PROCESSES:
        record = claims[index]
        process = Process(
            record_id=record.id,
            route_id=route.id,
            status=status,
            state={},
            started_by_id=record.owner_id,
            started_at=at(started),
            finished_at=at(finished) if finished else None,
        )
        db.session.add(process)
        processes.append(process)
    db.session.flush()
    for index, step, approver, arrived, decided, status, due in TASKS:
        db.session.add(
            Task(
                process_id=processes[index].id,
                record_id=claims[index].id,
                step_key=step,
                status=status,
                assignee_id=users[approver].id,
                created_at=at(arrived),
                decided_at=at(decided) if decided else None,
                decided_by_id=users[approver].id if decided else None,
                decision=status if decided else None,
                due_at=at(due) if due else None,
            )
        )
    db.session.commit()
    for content in PROCESS_KPIS:
        store.publish(content, registry=registry)
    return users


pytestmark = pytest.mark.usefixtures("history")


def get(client, bearer, user, key, **params):
    response = client.get(f"/api/kpis/{key}", query_string=params, headers=bearer(user))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def exact(number: Decimal) -> Decimal:
    """As the API writes a value that does not end: to ten places."""
    return number.quantize(Decimal("1e-10"))


def value(answer) -> Decimal | None:
    found = answer["total"]["value"]
    return None if found is None else Decimal(str(found))


def cells(answer, name: str) -> dict:
    """One dimension's label (a department's code, an approver's username) → value."""
    found = {}
    for row in answer["rows"]:
        label = row["dimensions"][name]
        if isinstance(label, dict):
            label = label.get("code") or label.get("username")
        found[label] = None if row["value"] is None else Decimal(str(row["value"]))
    return found


def test_decided_tasks_counted_by_step_approver_and_department(client, bearer):
    assert value(get(client, bearer, "carol", "p_decided")) == 7
    assert cells(get(client, bearer, "carol", "p_decided", by="step"), "step") == {"finance": 2, "manager": 5}
    by_approver = cells(get(client, bearer, "carol", "p_decided", by="approver"), "approver")
    assert by_approver == {"bob": 4, "carol": 3}
    # The department tree rolls up: HQ is the whole company.
    by_department = cells(get(client, bearer, "carol", "p_decided", by="department"), "department")
    assert by_department == {"HQ": 7, "SALES": 6, "FIN": 1}


def test_average_and_percentile_time_per_step(client, bearer):
    # All seven: 1, 2, 4, 10, 16.5, 24, 48 hours.
    average = value(get(client, bearer, "carol", "p_hours"))
    assert average.quantize(Decimal("0.000001")) == Decimal("15.071429")
    assert value(get(client, bearer, "carol", "p_hours_p50")) == 10  # the 4th of 7
    assert value(get(client, bearer, "carol", "p_hours_p90")) == 48  # ceil(0.9 × 7) = the 7th
    assert value(get(client, bearer, "carol", "p_hours_max")) == 48
    assert cells(get(client, bearer, "carol", "p_hours", by="step"), "step") == {
        "manager": Decimal("6.7"),  # (2 + 16.5 + 4 + 1 + 10) / 5
        "finance": Decimal("36"),
    }
    # manager: 1, 2, 4, 10, 16.5 → ceil(4.5) = the 5th; finance: 24, 48 → ceil(1.8) = the 2nd.
    assert cells(get(client, bearer, "carol", "p_hours_p90", by="step"), "step") == {
        "manager": Decimal("16.5"),
        "finance": Decimal("48"),
    }
    answer = get(client, bearer, "carol", "p_hours", by="step")
    assert answer["unit"] == "hours"
    assert answer["total"]["display"] == "15.07 小时"  # carol reads Chinese


def test_rates_are_recomputed_per_group(client, bearer):
    assert value(get(client, bearer, "carol", "p_overdue_rate")) == exact(Decimal(2) / 7)
    by_step = cells(get(client, bearer, "carol", "p_overdue_rate", by="step"), "step")
    assert by_step == {"finance": Decimal(1), "manager": Decimal(0)}
    assert value(get(client, bearer, "carol", "p_return_rate")) == exact(Decimal(1) / 7)
    # Three requests finished; one was approved without being sent back.
    assert value(get(client, bearer, "carol", "p_first_pass")) == exact(Decimal(1) / 3)


def test_decisions_fall_on_business_days(client, bearer):
    # T3 was decided at 16:30 UTC on 20 January: 00:30 on the 21st in Shanghai.
    by_day = cells(get(client, bearer, "carol", "p_decided", by="day"), "day")
    assert by_day == {
        "2026-01-10": 1,
        "2026-01-12": 1,
        "2026-01-15": 1,
        "2026-01-21": 2,
        "2026-01-22": 1,
        "2026-02-01": 1,
    }
    january = get(client, bearer, "carol", "p_decided", **{"from": "2026-01-21", "to": "2026-01-21"})
    assert value(january) == 2
    by_month = cells(get(client, bearer, "carol", "p_decided", by="month"), "month")
    assert by_month == {"2026-01": 6, "2026-02": 1}


def test_throughput_by_week_and_cycle_time(client, bearer):
    # Finished on Monday 12 January, Thursday 15 January and Thursday 22 January.
    by_week = cells(get(client, bearer, "carol", "p_throughput", by="week"), "week")
    assert by_week == {"2026-01-12": 2, "2026-01-19": 1}
    assert value(get(client, bearer, "carol", "p_cycle_days")) == exact(Decimal(105) / 3 / 24)


def test_open_tasks_per_approver(client, bearer):
    assert cells(get(client, bearer, "carol", "p_open", by="approver"), "approver") == {"carol": 1}
    assert value(get(client, bearer, "carol", "p_open_late")) == 1


def test_each_viewer_counts_within_their_scope(client, bearer):
    # alice sees her own claims (1 and 3); bob, head of Sales, his department's (1, 2, 3).
    assert value(get(client, bearer, "alice", "p_decided")) == 3
    assert value(get(client, bearer, "bob", "p_decided")) == 6
    assert value(get(client, bearer, "alice", "p_first_pass")) == Decimal("0.5")


def test_drill_down_lists_the_records_behind_a_value(client, bearer):
    response = client.get(
        "/api/kpis/p_decided/records", query_string={"step": "manager"}, headers=bearer("carol")
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    contributions = [row["value"] for row in body["rows"]]
    assert sorted(contributions) == [1, 1, 1, 2]  # claim 2 was decided twice at the manager
    assert sum(contributions) == body["value"] == 5


def test_filters_pin_step_and_approver(client, bearer):
    bob = db.session.query(User).filter_by(username="bob").one()
    assert value(get(client, bearer, "carol", "p_decided", approver=str(bob.id))) == 4
    assert value(get(client, bearer, "carol", "p_decided", step="finance")) == 2
    sales = db.session.query(Department).filter_by(code="SALES").one()
    assert value(get(client, bearer, "carol", "p_decided", department=str(sales.id), step="manager")) == 4


def test_dimensions_tasks_do_not_have_are_refused(client, bearer):
    english = {**bearer("carol"), "Accept-Language": "en"}
    response = client.get("/api/kpis/p_throughput", query_string={"by": "step"}, headers=english)
    assert response.status_code == 400
    assert "approval tasks" in response.get_json()["error"]
    response = client.get("/api/kpis/p_decided", query_string={"by": "category"}, headers=bearer("carol"))
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("spec", "pointer", "message"),
    [
        (measure("finished_requests", step="manager"), "/measures/m/process/step", "has no step"),
        (measure("open_tasks", where="returned"), "/measures/m/process/where", "not 'returned'"),
        (measure("decided_tasks", "avg"), "/measures/m/of", "needs a duration"),
        (measure("decided_tasks", of="hours"), "/measures/m/of", "leave out `of`"),
        (measure("decided_tasks", form="no_such_form"), "/measures/m/process/form", "unknown form"),
    ],
)
def test_bad_process_measures_are_refused_at_publish(registry, spec, pointer, message):
    with pytest.raises(DefinitionError) as caught:
        store.publish(kpi("p_bad", {"m": spec}), registry=registry)
    (problem,) = caught.value.problems
    assert problem.pointer == pointer
    assert message in problem.message
    assert store.current_version("kpi", "p_bad") is None


def test_the_page_groups_by_step_and_drills_into_a_step(client, login):
    login(client, "carol")
    page = client.get("/kpis/p_hours?by=step", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<option value="approver"' in html
    assert re.findall(r"[0-9.,]+ hours", html) == ["36.00 hours", "6.70 hours", "15.07 hours"]
    links = re.findall(r'href="(/kpis/p_hours/records\?[^"]+)"', html)
    manager = next(link.replace("&amp;", "&") for link in links if "step=manager" in link)
    drilled = client.get(manager, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "frank office" in drilled and "alice travel" in drilled and "grace travel" in drilled
