"""KPI alerts: a threshold crossed raises exactly one alert per department, told once to the people
the definition names; the same level is not told again; a return to normal is told; checks run
when records change and by `formwork due run`; the history is read within each reader's reach."""

from __future__ import annotations

from datetime import timedelta

import pytest
from kpi_samples import TITLE, write_claims

from formwork import business_time
from formwork.db_types import utcnow
from formwork.definitions import store
from formwork.definitions.problems import DefinitionError
from formwork.extensions import db
from formwork.kpis import alerts
from formwork.kpis.models import KpiAlert, KpiWatch
from formwork.kpis.published import current_kpis
from formwork.notifications import kpi_alerts
from formwork.notifications.models import Notification
from formwork.org.models import Department, User

ALERTING = {
    "kind": "kpi",
    "key": "a_spent",
    "title": TITLE,
    "measures": {
        "spent": {
            "form": "expense_claim",
            "aggregate": "sum",
            "of": "lines.amount",
            "date": "lines.date",
            "filter": "$record.status == 'approved'",
        }
    },
    "target": {"good": "lower", "value": 300, "warning": 500, "alert": 1000},
    "alerts": {
        "period": "month",
        "by": "department",
        "notify": {"roles": ["finance_reviewer"], "department_heads": True},
    },
}


@pytest.fixture
def alerting(published, registry):
    store.publish(ALERTING, registry=registry)
    db.session.commit()
    return published


def this_month() -> str:
    return business_time.today().replace(day=1).isoformat()


def claim(users, owner: str, amount: str, status: str = "approved"):
    (record,) = write_claims(users, [(owner, "travel", status, [(this_month(), amount)])])
    return record


def told(kind: str | None = None) -> list[tuple[str, str, str]]:
    """(username, kind, scope in English) of every KPI notification so far."""
    rows = db.session.query(Notification, User).join(User, User.id == Notification.user_id)
    found = []
    for notification, user in rows.order_by(Notification.id):
        if notification.kind.startswith("kpi_") and (kind is None or notification.kind == kind):
            found.append((user.username, notification.kind, notification.params["scope"]["en"]))
    return sorted(found)


def levels() -> list[tuple[str | None, str, str]]:
    rows = db.session.query(KpiAlert).order_by(KpiAlert.id)
    codes = {d.id: d.code for d in db.session.query(Department)}
    return [(codes.get(a.department_id), a.previous_level, a.level) for a in rows]


def test_crossing_telling_once_and_back_to_normal(alerting):
    users = alerting
    claim(users, "alice", "300.00")
    report = kpi_alerts.run(utcnow())
    assert (report.checked, report.raised, report.cleared, report.errors) == (1, 0, 0, [])
    assert levels() == [] and told() == []  # within the target from the start: nothing to say

    over = claim(users, "frank", "300.00")  # Sales (and the company): 600, past the warning at 500
    report = kpi_alerts.run(utcnow())
    assert (report.raised, report.cleared) == (2, 0)
    assert levels() == [("HQ", "normal", "warning"), ("SALES", "normal", "warning")]
    assert told() == [
        ("bob", "kpi_alert", "Sales"),  # the head of Sales, about Sales
        ("carol", "kpi_alert", "Head Office"),  # the finance reviewer, about both
        ("carol", "kpi_alert", "Sales"),
        ("dave", "kpi_alert", "Head Office"),  # the head of the company
    ]
    alert = db.session.query(KpiAlert).filter_by(department_id=users["bob"].department_id).one()
    assert (alert.value, alert.threshold, alert.period) == ("600.00", "500", this_month()[:7])

    # Nothing changed: the next run does not even check; a forced check finds the same level.
    assert kpi_alerts.run(utcnow()).checked == 0
    assert alerts.check(current_kpis()["a_spent"], current_kpis(), utcnow()) == []
    db.session.commit()
    claim(users, "grace", "10.00")  # Finance changes; Sales and the company stay at warning
    assert kpi_alerts.run(utcnow()).raised == 0
    assert len(levels()) == 2 and len(told()) == 4

    over.status = "rejected"  # a status change is a change of the records read
    db.session.commit()
    report = kpi_alerts.run(utcnow())
    assert (report.raised, report.cleared) == (0, 2)
    assert levels()[2:] == [("HQ", "warning", "normal"), ("SALES", "warning", "normal")]
    assert [who for who, *_ in told("kpi_normal")] == ["bob", "carol", "carol", "dave"]


def test_the_message_reads_in_each_language(alerting, client, bearer):
    users = alerting
    claim(users, "alice", "1200.00")
    kpi_alerts.run(utcnow())
    answer = client.get("/api/notifications", headers={**bearer("bob"), "Accept-Language": "en"}).get_json()
    (item,) = [i for i in answer["items"] if i["kind"] == "kpi_alert"]
    assert item["subject"] == "Indicator Test: alert"
    assert "Sales" in item["body"] and "CNY 1,200.00" in item["body"] and "CNY 1,000.00" in item["body"]
    assert item["kpi_key"] == "a_spent" and item["record_id"] is None
    chinese = db.session.get(Notification, item["id"])
    from formwork.notifications.service import notification_text

    subject, body = notification_text(chinese, "zh_CN")
    assert "告警" in subject and "销售" in body


def test_each_period_is_judged_on_its_own(alerting):
    claim(alerting, "alice", "700.00")
    kpi_alerts.run(utcnow())
    assert levels() == [("HQ", "normal", "warning"), ("SALES", "normal", "warning")]
    # Last month's warning does not hide this month's: recorded as if told in another period.
    db.session.query(KpiAlert).update({KpiAlert.period: "1999-01"})
    db.session.commit()
    assert len(alerts.check(current_kpis()["a_spent"], current_kpis(), utcnow())) == 2
    db.session.commit()
    assert [a.period for a in db.session.query(KpiAlert).order_by(KpiAlert.id)][2:] == [this_month()[:7]] * 2


def test_period_turn_and_recheck_interval_make_a_check_due(alerting, app):
    kpi = current_kpis()["a_spent"]
    now = utcnow()
    kpi_alerts.run(now)
    assert not alerts.is_due(kpi, current_kpis(), now + timedelta(minutes=5))
    assert alerts.is_due(kpi, current_kpis(), now + timedelta(minutes=61))
    watch = db.session.get(KpiWatch, "a_spent")
    watch.period = "1999-01"
    db.session.commit()
    assert alerts.is_due(kpi, current_kpis(), now)


def test_due_run_command_checks_the_alerts(alerting, runner):
    claim(alerting, "alice", "700.00")
    result = runner.invoke(args=["due", "run"])
    assert result.exit_code == 0, result.output
    assert "KPI alerts: checked 1, raised 2, back to normal 0" in result.output


def test_history_api_within_each_readers_reach(alerting, client, bearer):
    claim(alerting, "alice", "700.00")
    claim(alerting, "grace", "800.00")
    kpi_alerts.run(utcnow())
    everything = client.get("/api/kpis/a_spent/alerts", headers=bearer("carol")).get_json()["items"]
    assert sorted(i["department"]["code"] for i in everything) == ["FIN", "HQ", "SALES"]
    bob = client.get("/api/kpis/a_spent/alerts", headers=bearer("bob")).get_json()["items"]
    assert [i["department"]["code"] for i in bob] == ["SALES"]
    assert bob[0]["level"] == "warning" and bob[0]["value"] == "700.00"
    assert client.get("/api/kpis/a_spent/alerts", headers=bearer("alice")).get_json()["items"] == []


@pytest.mark.parametrize(
    ("change", "pointer", "message"),
    [
        ({"target": {"good": "lower", "value": 1}}, "/alerts", "warning or an alert threshold"),
        (
            {"alerts": {"notify": {"department_heads": True}}},
            "/alerts/notify/department_heads",
            "add by: department",
        ),
    ],
)
def test_alerts_that_cannot_work_are_refused_at_publish(published, registry, change, pointer, message):
    with pytest.raises(DefinitionError) as caught:
        store.publish({**ALERTING, "key": "a_bad", **change}, registry=registry)
    (problem,) = caught.value.problems
    assert (problem.pointer, message in problem.message) == (pointer, True)


def test_the_kpi_page_lists_the_alerts(alerting, client, login):
    claim(alerting, "alice", "1200.00")
    kpi_alerts.run(utcnow())
    login(client, "bob")
    html = client.get("/kpis/a_spent", headers={"Accept-Language": "en"}).get_data(as_text=True)
    section = html.split("<h2>Alerts</h2>")[1]
    assert "<td>Sales</td>" in section and "CNY 1,200.00" in section and "Head Office" not in section
    login(client, "alice")
    html = client.get("/kpis/a_spent", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<h2>Alerts</h2>" not in html
    notes = client.get("/notifications").get_data(as_text=True)
    assert "/kpis/a_spent" not in notes  # alice was told nothing
    login(client, "bob")
    assert 'href="/kpis/a_spent"' in client.get("/notifications").get_data(as_text=True)
