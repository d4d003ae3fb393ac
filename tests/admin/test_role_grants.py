"""Role grants until a date, their history, and segregation of duties, through the API, the page
and the command line: a grant past its last day stops counting at once and the due run removes
it; regranting extends; a grant joining cashier and finance reviewer is refused without a reason
and recorded with one."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from formwork import business_time
from formwork.audit.models import AuditEntry
from formwork.definitions import store
from formwork.extensions import db
from formwork.org import grants
from formwork.org.models import RoleAssignment, RoleGrantEvent, User
from formwork.permissions.subject import Subject

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"


@pytest.fixture
def duties(demo_org):
    """The shipped permission definitions, which declare cashier and finance reviewer apart."""
    from formwork.plugins import current_registry

    store.publish_path(DEFINITIONS / "forms", registry=current_registry())
    store.publish_path(DEFINITIONS / "routes", registry=current_registry())
    store.publish_path(DEFINITIONS / "permissions", registry=current_registry())
    db.session.commit()


def person(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def events(name: str) -> list[tuple[str, str | None]]:
    rows = db.session.scalars(
        select(RoleGrantEvent).where(RoleGrantEvent.user_id == person(name).id).order_by(RoleGrantEvent.id)
    )
    return [(e.event, e.override_reason) for e in rows]


def later(monkeypatch, moment):
    monkeypatch.setattr(business_time, "now", lambda: moment)


def test_a_grant_until_a_date_ends_with_that_day(admin, monkeypatch):
    today = business_time.today()
    answer = admin(
        "POST",
        "/api/admin/grants",
        {"user": "alice", "role": "cfo", "until": today.isoformat(), "reason": "Covering for dave"},
    )
    assert answer.status_code == 201, answer.get_json()
    grant = answer.get_json()
    end = business_time.day_end(today)
    assert grant["expires_at"] == business_time.iso_utc(end) and grant["reason"] == "Covering for dave"
    alice = person("alice")
    assert alice.has_role("cfo") and "cfo" in {h.role for h in Subject.load(alice).holdings}

    # One second past the day's end the role counts no more, before any due run.
    later(monkeypatch, end + timedelta(seconds=1))
    db.session.expire_all()
    assert not person("alice").has_role("cfo")
    assert "cfo" not in {h.role for h in Subject._read(alice.id, None).holdings}

    assert grants.expire_due() == 1
    db.session.commit()
    assert db.session.get(RoleAssignment, grant["id"]) is None
    assert events("alice") == [("granted", None), ("expired", None)]
    assert grants.expire_due() == 0  # nothing twice
    audit = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert audit.action == "role.revoke" and json.loads(audit.details)["expired"] is True


def test_a_grant_ended_but_not_yet_removed_starts_anew_with_its_end_kept(admin, monkeypatch):
    today = business_time.today()
    admin("POST", "/api/admin/grants", {"user": "alice", "role": "cfo", "until": today.isoformat()})
    later(monkeypatch, business_time.day_end(today) + timedelta(hours=1))
    tomorrow = (today + timedelta(days=1)).isoformat()
    again = admin("POST", "/api/admin/grants", {"user": "alice", "role": "cfo", "until": tomorrow})
    assert again.status_code == 201
    assert events("alice") == [("granted", None), ("expired", None), ("granted", None)]


def test_regranting_extends_and_never_shortens(admin):
    today = business_time.today()
    first = admin("POST", "/api/admin/grants", {"user": "alice", "role": "cfo", "until": today.isoformat()})
    later_day = (today + timedelta(days=30)).isoformat()
    extended = admin("POST", "/api/admin/grants", {"user": "alice", "role": "cfo", "until": later_day})
    assert extended.get_json()["id"] == first.get_json()["id"]
    assert extended.get_json()["expires_at"] == business_time.iso_utc(
        business_time.day_end(today + timedelta(days=30))
    )
    shorter = admin("POST", "/api/admin/grants", {"user": "alice", "role": "cfo", "until": today.isoformat()})
    assert shorter.get_json()["expires_at"] == extended.get_json()["expires_at"]
    assert events("alice") == [("granted", None), ("extended", None)]


@pytest.mark.parametrize("until", ["2020-01-01", "2026-02-30", "２０２７-01-01", "tomorrow"])
def test_bad_or_past_end_dates_are_refused(admin, until):
    answer = admin("POST", "/api/admin/grants", {"user": "alice", "role": "cfo", "until": until})
    assert answer.status_code == 422 and answer.get_json()["field"] == "until"
    assert not person("alice").has_role("cfo")


def test_a_conflicting_grant_needs_an_override_reason(admin, duties):
    # grace is the cashier; finance reviewer would join the declared pair.
    refused = admin("POST", "/api/admin/grants", {"user": "grace", "role": "finance_reviewer"})
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["field"] == "override_reason" and "cashier" in body["error"]
    assert not person("grace").has_role("finance_reviewer") and events("grace") == []

    granted = admin(
        "POST",
        "/api/admin/grants",
        {"user": "grace", "role": "finance_reviewer", "override_reason": "Month-end cover, approved by CFO"},
    )
    assert granted.status_code == 201
    assert events("grace") == [("granted", "Month-end cover, approved by CFO")]
    audit = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    details = json.loads(audit.details)
    assert details["override_reason"] == "Month-end cover, approved by CFO"
    assert "cashier" in details["conflicts"][0]


def test_the_page_and_the_command_line_say_the_same(client, login, runner, duties):
    login(client, "admin")
    grace = person("grace")
    page = client.get(f"/admin/users/{grace.id}")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    refused = client.post(
        f"/admin/users/{grace.id}/grant",
        data={"csrf_token": token, "form": "grant", "role": "finance_reviewer"},
    )
    assert refused.status_code == 422 and "Record an override reason" in refused.get_data(as_text=True)
    result = runner.invoke(args=["users", "grant", "grace", "finance_reviewer"])
    assert result.exit_code != 0 and "cashier" in result.output
    until = (business_time.today() + timedelta(days=7)).isoformat()
    result = runner.invoke(
        args=[
            "users",
            "grant",
            "grace",
            "finance_reviewer",
            "--until",
            until,
            "--override-reason",
            "Audit week",
        ]
    )
    assert result.exit_code == 0, result.output
    html = client.get(f"/admin/users/{grace.id}").get_data(as_text=True)
    assert "until" in html
    result = runner.invoke(args=["users", "revoke", "grace", "finance_reviewer"])
    assert result.exit_code == 0 and not person("grace").has_role("finance_reviewer")
    assert [e for e, _ in events("grace")] == ["granted", "revoked"]


def test_the_due_run_ends_grants(runner, demo_org, monkeypatch):
    alice = person("alice")
    grants.grant_role(alice, "cfo", until=business_time.today())
    db.session.commit()
    later(monkeypatch, business_time.day_end(business_time.today()) + timedelta(minutes=1))
    result = runner.invoke(args=["due", "run"])
    assert "role grants ended: 1" in result.output
    db.session.expire_all()
    assert not person("alice").has_role("cfo")


def test_an_import_cannot_join_incompatible_roles(duties, demo_org):
    from formwork.org import onboarding

    data = "username,role,department\ngrace,finance_reviewer,\nalice,cashier,\nalice,finance_reviewer,\n"
    plan = onboarding.preview(demo_org["admin"], data.encode(), "grants.csv")
    refused = {(p.section, p.line, p.column) for p in plan.problems}
    # grace is the cashier already; alice would get both from the same file.
    assert refused == {("grants", 2, "role"), ("grants", 4, "role")}
    assert "cashier, finance_reviewer" in plan.problems[0].message


def test_names_with_control_characters_are_refused(admin):
    answer = admin(
        "POST", "/api/admin/users", {"username": "zed", "display_name": "Zed\x07", "department": "SALES"}
    )
    assert answer.status_code == 422 and answer.get_json()["field"] == "display_name"
