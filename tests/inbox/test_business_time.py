"""Business time (FORMWORK_TIMEZONE, Asia/Shanghai by default), with the clock at 23:30 UTC on 1 May 2026,
which is 07:30 on 2 May in Beijing: every date people see, type or have reckoned for them is 2 May."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest
import time_machine
from sqlalchemy import select

from formwork import business_time
from formwork.expressions import TypeEnv, compile_expression
from formwork.expressions import value_types as T
from formwork.extensions import db
from formwork.formatting import format_datetime_value, input_value
from formwork.forms.field_types import parse_datetime
from formwork.forms.model import compile_form
from formwork.forms.state import context_for
from formwork.notifications.models import Notification
from formwork.plugins import current_registry
from formwork.rules import compile_ruleset
from formwork.rules.engine import RulesEngine
from formwork.workflow.models import OPEN, Task

UTC_EVENING = datetime(2026, 5, 1, 23, 30, tzinfo=timezone.utc)  # 2026-05-02 07:30 in Beijing
BEIJING_DAY = date(2026, 5, 2)


@pytest.fixture(autouse=True)
def beijing(app):
    app.config["FORMWORK_TIMEZONE"] = "Asia/Shanghai"  # the default, whatever the environment says


@pytest.fixture
def at_0730_in_beijing():
    with time_machine.travel(UTC_EVENING, tick=False):
        yield


def test_the_clock_and_the_business_day(app, at_0730_in_beijing):
    assert business_time.now() == UTC_EVENING
    assert date.today() == date(2026, 5, 1)  # the server (UTC) is still on 1 May
    assert business_time.today() == BEIJING_DAY
    assert business_time.day_start(BEIJING_DAY) == datetime(2026, 5, 1, 16, 0, tzinfo=timezone.utc)
    assert business_time.text(UTC_EVENING) == "2026-05-02 07:30 (UTC+08:00)"
    # SQLite gives stored instants back without an offset: they are UTC.
    assert business_time.local(UTC_EVENING.replace(tzinfo=None)).day == 2
    app.config["FORMWORK_TIMEZONE"] = "Europe/London"
    assert business_time.today() == date(2026, 5, 2) and business_time.offset_label() == "UTC+01:00"
    app.config["FORMWORK_TIMEZONE"] = "America/New_York"
    assert business_time.today() == date(2026, 5, 1)


def test_today_and_now_in_both_expression_back_ends(app, demo_org, at_0730_in_beijing):
    python = compile_expression("$today", TypeEnv({}))
    assert python.evaluate({}, None, {}) == BEIJING_DAY
    assert compile_expression("date($now)", TypeEnv({})).evaluate({}, None, {}) == BEIJING_DAY
    # A stored instant's day is its business day too.
    env = TypeEnv({"due": T.DATE, "sent": T.DATETIME})
    day_of = compile_expression("date(sent)", env)
    assert day_of.evaluate({"sent": UTC_EVENING}, None, {}) == BEIJING_DAY
    assert context_for(demo_org["alice"])["today"] == BEIJING_DAY

    engine = RulesEngine()
    engine.register(compile_ruleset("business_today_v1", {"due_today": "due == $today"}, env))
    assert engine.evaluate("business_today_v1", {"due": BEIJING_DAY, "sent": None}, {}) == {"due_today"}
    assert engine.evaluate("business_today_v1", {"due": date(2026, 5, 1), "sent": None}, {}) == set()


def test_a_claim_made_at_0730_in_beijing_shows_that_days_date(
    app, client, login, submit, demo_org, at_0730_in_beijing
):
    record = submit("alice")
    login(client, "alice")
    listing = client.get("/requests").get_data(as_text=True)
    assert "May 2, 2026" in listing and "May 1, 2026" not in listing
    detail = client.get(f"/records/{record.id}").get_data(as_text=True)
    assert "May 2, 2026, 7:30:00" in detail
    # The API keeps UTC, always with the offset (SQLite stores no offset: it is added back).
    body = client.get(f"/api/records/{record.id}").get_json()
    assert body["submitted_at"] == "2026-05-01T23:30:00+00:00"
    assert body["created_at"] == "2026-05-01T23:30:00+00:00"


def test_not_in_the_future_is_judged_by_the_business_day(client, bearer, expense, at_0730_in_beijing):
    # The demo claim's rule is ``max(lines.date) <= $today``: 2 May is today in Beijing, 3 May is not.
    auth = bearer("alice")

    def post(day: date):
        data = {
            "category": "other",
            "reason": "Workshop",
            "lines": [
                {
                    "date": day.isoformat(),
                    "type": "other",
                    "amount": "100.00",
                    "invoice_no": day.strftime("2026%m%d"),
                }
            ],
            "payee_name": "Payee",
            "payee_bank": "ICBC Shanghai",
            "payee_account": "6222021234567890123",
        }
        return client.post(
            "/api/forms/expense_claim/records",
            data=json.dumps({"data": data, "submit": True}),
            content_type="application/json",
            headers=auth,
        )

    first = post(BEIJING_DAY)
    assert first.status_code == 201, first.get_json()
    future = post(date(2026, 5, 3))
    assert future.status_code == 422 and future.get_json()["errors"][0]["field"] != "lines[0].invoice_no"


def test_a_date_default_of_today_is_the_business_day_of_each_use(app):
    form = compile_form(
        {
            "kind": "form",
            "key": "visit",
            "title": {"zh-CN": "拜访", "en": "Visit"},
            "fields": [
                {"key": "day", "type": "date", "label": {"zh-CN": "日期", "en": "Day"}, "default": "$today"}
            ],
        },
        current_registry(),
    )
    [day] = form.fields
    with time_machine.travel(UTC_EVENING, tick=False):
        assert day.default == BEIJING_DAY  # worked out when the form is opened, not when it was published
    with time_machine.travel(datetime(2026, 5, 2, 16, 30, tzinfo=timezone.utc), tick=False):
        assert day.default == date(2026, 5, 3)


def test_date_times_typed_without_offset_are_business_time(app):
    moment = parse_datetime("2026-05-02T07:30")
    assert moment == UTC_EVENING
    assert parse_datetime("2026-05-01T23:30:00Z") == UTC_EVENING  # an offset keeps its own meaning
    field = SimpleNamespace(type=SimpleNamespace(widget="datetime"))
    assert input_value(field, moment) == "2026-05-02T07:30"  # and the input shows it back the same
    assert format_datetime_value(moment) == "May 2, 2026, 7:30:00\u202fAM"


def test_out_of_office_days_run_from_business_midnight(client, bearer, submit, demo_org, at_0730_in_beijing):
    response = client.post(
        "/api/me/out-of-office",
        headers=bearer("bob"),
        json={"delegate": "dave", "starts_at": "2026-05-02", "ends_at": "2026-05-02"},
    )
    assert response.status_code == 201, response.get_json()
    period = response.get_json()
    assert period["starts_at"] == "2026-05-01T16:00:00+00:00"
    assert period["ends_at"] == "2026-05-02T16:00:00+00:00"
    assert period["active"] is True  # 07:30 on 2 May in Beijing is inside the day bob is away
    record = submit("alice")
    task = db.session.scalars(select(Task).where(Task.record_id == record.id, Task.status == OPEN)).one()
    assert task.assignee_id == demo_org["dave"].id


def test_deadlines_in_notifications_and_the_due_work_command(runner, submit, demo_org):
    with time_machine.travel(UTC_EVENING, tick=False):
        record = submit("alice")
    task = db.session.scalars(select(Task).where(Task.record_id == record.id, Task.status == OPEN)).one()
    task.remind_at = UTC_EVENING
    db.session.commit()
    with time_machine.travel(UTC_EVENING, tick=False):
        result = runner.invoke(args=["due", "run"])
    assert result.exit_code == 0, result.output
    assert "due work as of 2026-05-02 07:30 (UTC+08:00)" in result.output
    notes = db.session.scalars(
        select(Notification).where(Notification.user_id == task.assignee_id, Notification.kind == "reminder")
    ).all()
    assert notes, "the reminder was sent"
    if task.due_at is not None:
        assert notes[0].params["due_at"].endswith("(UTC+08:00)")
