"""The demo's audit history: months of plausible entries, a valid chain in time order, written only
into an empty trail and before the live entries that follow."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from formwork import business_time
from formwork.audit import actions, trail
from formwork.audit.models import AuditEntry
from formwork.audit.verify import verify
from formwork.extensions import db, transaction


def _entries() -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_the_history_spans_months_in_time_order_and_verifies(app, demo_org):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "audit-history"])
    assert result.exit_code == 0, result.output
    assert "demo audit history ready" in result.output
    entries = _entries()
    assert len(entries) > 300
    times = [business_time.as_utc(e.at) for e in entries]
    assert times == sorted(times)
    assert times[-1] < business_time.now()
    assert times[-1] - times[0] > timedelta(days=80)
    kinds = {e.action for e in entries}
    assert {
        actions.SIGN_IN,
        actions.DEFINITION_PUBLISH,
        actions.ROLE_GRANT,
        actions.RECORD_CREATE,
        actions.TASK_DECIDE,
    } <= kinds
    months = {business_time.local(e.at).strftime("%Y-%m") for e in entries}
    assert len(months) >= 3
    assert verify().intact
    verdict = runner.invoke(args=["audit", "verify"])
    assert verdict.exit_code == 0 and "intact" in verdict.output

    # A live entry follows on the same chain, after the history.
    with transaction():
        trail.append(
            actions.SIGN_IN, actor=demo_org["alice"], object_type="user", object_id=demo_org["alice"].id
        )
    assert verify().intact
    last = _entries()[-1]
    assert last.actor_label == "alice" and business_time.as_utc(last.at) >= times[-1]

    # Again: the trail has entries, so nothing is written (the history must come first).
    count = db.session.scalar(select(func.count()).select_from(AuditEntry))
    again = runner.invoke(args=["demo", "audit-history"])
    assert again.exit_code == 0 and "no history written" in again.output
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == count


def test_the_history_is_readable_on_the_audit_page(app, demo_org, client, login):
    app.test_cli_runner().invoke(args=["demo", "audit-history", "--days", "30"])
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, "admin")
    page = client.get("/admin/audit?action=task.decide")
    assert page.status_code == 200
    assert "EC-" in page.get_data(as_text=True) or "PR-" in page.get_data(as_text=True)
