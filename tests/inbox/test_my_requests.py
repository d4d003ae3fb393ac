"""My requests: one list (drafts and submitted) with amount, status, current step and who it waits on;
filters and search; /records redirects; delete a draft; copy into a new draft; 催办 (rate-limited)."""

from __future__ import annotations

import re

from sqlalchemy import select

from formwork.extensions import db
from formwork.notifications.models import Notification
from formwork.org.users import user_by_username
from formwork.records.models import Record
from formwork.workflow import submission
from formwork.workflow.models import TrailEntry


def _csrf(client, path="/requests"):
    html = client.get(path).get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def _make_draft(claim, reason: str) -> Record:
    record = submission.create_record("expense_claim", claim(reason), user_by_username("alice"), submit=False)
    db.session.commit()
    return record


def _claim(reason: str) -> dict:
    return {"category": "other", "reason": reason}


def test_one_list_with_amount_status_step_and_who_it_waits_on(client, login, submit, expense):
    submitted = submit("alice", "1234.50", reason="Taxi to the airport")
    draft = _make_draft(_claim, "Still drafting")
    submit("frank", reason="Not alice's")
    login(client, "alice")
    html = client.get("/requests").get_data(as_text=True)
    assert "Taxi to the airport" in html and "Still drafting" in html and "Not alice" not in html
    row = re.search(r"<tr>\s*<td><a[^>]*>Taxi to the airport</a>.*?</tr>", html, re.S).group(0)
    assert "1,234.50" in row and ("In review" in row or "Submitted" in row)
    assert "At Department head approval: 鲍勃 Bob" in row
    draft_row = re.search(r"<tr>\s*<td><a[^>]*>Still drafting</a>.*?</tr>", html, re.S).group(0)
    assert f'href="/records/{draft.id}"' in draft_row and "Delete draft" in draft_row
    assert f"/records/{submitted.id}/copy" in row and f"/records/{submitted.id}/remind" in row
    # filters and search
    only_drafts = client.get("/requests?status=draft").get_data(as_text=True)
    assert "Still drafting" in only_drafts and "Taxi to the airport" not in only_drafts
    found = client.get("/requests?q=airport").get_data(as_text=True)
    assert "Taxi to the airport" in found and "Still drafting" not in found
    none = client.get("/requests?form=purchase_request").get_data(as_text=True)
    assert "No requests match." in none


def test_the_old_records_list_redirects_to_my_requests(client, login, expense):
    login(client, "alice")
    response = client.get("/records?status=draft")
    assert response.status_code == 301 and response.headers["Location"].endswith("/requests?status=draft")


def test_delete_a_draft_but_never_a_submitted_request(client, login, submit, expense, bearer):
    draft = _make_draft(_claim, "Throw away")
    submitted = submit("alice", reason="Keep me")
    login(client, "alice")
    token = _csrf(client)
    assert client.post(f"/records/{draft.id}/delete").status_code == 400  # CSRF
    response = client.post(f"/records/{draft.id}/delete", data={"csrf_token": token})
    assert response.status_code == 303
    assert db.session.get(Record, draft.id) is None
    refused = client.post(
        f"/records/{submitted.id}/delete", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Only a draft that was never submitted can be deleted." in refused.get_data(as_text=True)
    assert db.session.get(Record, submitted.id) is not None
    # API: 204 for a draft, 409 for a submitted request, 403 for someone else's, 404 for none
    other = _make_draft(_claim, "API draft")
    assert client.delete(f"/api/records/{other.id}", headers=bearer("alice")).status_code == 204
    assert client.delete(f"/api/records/{submitted.id}", headers=bearer("alice")).status_code == 409
    theirs = _make_draft(_claim, "Alice's")
    assert client.delete(f"/api/records/{theirs.id}", headers=bearer("frank")).status_code == 404
    assert client.delete("/api/records/999999", headers=bearer("alice")).status_code == 404


def test_copy_a_request_into_a_new_draft(client, login, submit, expense, bearer):
    original = submit("alice", "88.00", reason="Monthly taxi")
    login(client, "alice")
    token = _csrf(client)
    response = client.post(f"/records/{original.id}/copy", data={"csrf_token": token})
    assert response.status_code == 303
    new_id = int(re.search(r"/records/(\d+)/edit", response.headers["Location"]).group(1))
    copy = db.session.get(Record, new_id)
    assert copy.status == "draft" and copy.owner_id == original.owner_id and copy.id != original.id
    assert copy.data["reason"] == "Monthly taxi" and copy.data["lines"][0]["amount"] == "88.00"
    api = client.post(f"/api/records/{original.id}/copy", headers=bearer("alice"))
    assert api.status_code == 201 and api.get_json()["status"] == "draft"
    assert client.post(f"/api/records/{original.id}/copy", headers=bearer("frank")).status_code == 404


def test_remind_the_current_approver_once_per_interval(app, client, login, submit, expense, bearer, demo_org):
    record = submit("alice", reason="Please look")
    bob = demo_org["bob"]

    def reminders_to_bob():
        return db.session.scalars(
            select(Notification).where(
                Notification.user_id == bob.id,
                Notification.kind == "reminder",
                Notification.record_id == record.id,
            )
        ).all()

    login(client, "alice")
    token = _csrf(client)
    response = client.post(f"/records/{record.id}/remind", data={"csrf_token": token}, follow_redirects=True)
    assert "Reminder sent to 1 approver(s)." in response.get_data(as_text=True)
    assert len(reminders_to_bob()) == 1
    trail = db.session.scalars(
        select(TrailEntry).where(TrailEntry.record_id == record.id, TrailEntry.action == "remind")
    ).all()
    assert [(t.actor_id, t.details["users"]) for t in trail] == [(demo_org["alice"].id, [bob.id])]
    again = client.post(f"/records/{record.id}/remind", data={"csrf_token": token}, follow_redirects=True)
    assert "A reminder was sent recently" in again.get_data(as_text=True)
    api = client.post(f"/api/records/{record.id}/remind", headers=bearer("alice"))
    assert api.status_code == 429 and int(api.headers["Retry-After"]) > 0
    assert len(reminders_to_bob()) == 1
    # Someone else cannot remind; after the interval the submitter can again.
    assert client.post(f"/api/records/{record.id}/remind", headers=bearer("bob")).status_code == 403
    app.config["FORMWORK_REMIND_INTERVAL_SECONDS"] = 0
    ok = client.post(f"/api/records/{record.id}/remind", headers=bearer("alice"))
    assert ok.status_code == 200 and ok.get_json() == {"reminded": [bob.id]}
    assert len(reminders_to_bob()) == 2


def test_all_i_can_see_lists_every_visible_request_with_its_applicant(
    app, monkeypatch, client, login, submit, expense
):
    """An administrator browses every request (filters, search, paging as for their own); anyone
    else, with the same scope, only what they may see."""
    alices = submit("alice", "88", reason="Alice's taxi")
    franks = submit("frank", "99", reason="Frank's hotel")
    login(client, "admin")
    mine = client.get("/requests").get_data(as_text=True)
    assert "Alice's taxi" not in mine and "Frank's hotel" not in mine
    html = client.get("/requests?scope=all").get_data(as_text=True)
    assert "All requests I can see" in html and "Alice&#39;s taxi" in html and "Frank&#39;s hotel" in html
    row = re.search(r"<tr>\s*<td><a[^>]*>Frank&#39;s hotel</a>.*?</tr>", html, re.S).group(0)
    frank = user_by_username("frank")
    assert frank.display_name in row
    # Somebody else's request: no copy, remind or delete from here.
    assert f"/records/{franks.id}/copy" not in row and f"/records/{franks.id}/remind" not in row
    found = client.get("/requests?scope=all&q=hotel").get_data(as_text=True)
    assert "Frank&#39;s hotel" in found and "Alice&#39;s taxi" not in found
    monkeypatch.setitem(app.config, "FORMWORK_PAGE_SIZE", 1)
    paged = client.get("/requests?scope=all").get_data(as_text=True)
    assert "scope=all" in paged and "page=2" in paged  # the next page keeps the scope
    monkeypatch.setitem(app.config, "FORMWORK_PAGE_SIZE", 20)
    login(client, "alice")
    own = client.get("/requests?scope=all").get_data(as_text=True)
    assert "Alice&#39;s taxi" in own and "Frank&#39;s hotel" not in own
    assert f"/records/{alices.id}/copy" in own
