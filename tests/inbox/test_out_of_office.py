"""Out-of-office periods through the settings page and the API; tasks arriving then go to the delegate."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from formwork import business_time
from formwork.extensions import db
from formwork.workflow.models import OPEN, Task


def test_set_list_and_cancel_through_the_api(client, bearer, submit, demo_org):
    bob = bearer("bob")
    today = business_time.today()  # out-of-office days are business days
    response = client.post(
        "/api/me/out-of-office",
        headers=bob,
        json={
            "delegate": "dave",
            "starts_at": today.isoformat(),
            "ends_at": (today + timedelta(days=2)).isoformat(),
        },
    )
    assert response.status_code == 201, response.get_json()
    period = response.get_json()
    assert period["delegate"]["username"] == "dave" and period["active"] is True
    assert client.get("/api/me/out-of-office", headers=bob).get_json()["items"][0]["id"] == period["id"]
    # A claim arriving now goes to dave, on bob's behalf.
    record = submit("alice")
    task = db.session.scalars(select(Task).where(Task.record_id == record.id, Task.status == OPEN)).one()
    assert task.assignee_id == demo_org["dave"].id and task.intended_id == demo_org["bob"].id
    item = client.get("/api/tasks", headers=bearer("dave")).get_json()["items"][0]
    assert item["on_behalf_of"] == demo_org["bob"].display_name
    # Refusals name the field.
    bad = client.post(
        "/api/me/out-of-office",
        headers=bob,
        json={"delegate": "erin", "starts_at": today.isoformat(), "ends_at": today.isoformat()},
    )
    assert bad.status_code == 422 and bad.get_json()["field"] == "starts_at"  # overlaps the first
    bad = client.post(
        "/api/me/out-of-office",
        headers=bob,
        json={"delegate": "bob", "starts_at": "2030-01-01", "ends_at": "2030-01-02"},
    )
    assert bad.status_code == 422 and bad.get_json()["field"] == "delegate"
    bad = client.post(
        "/api/me/out-of-office",
        headers=bob,
        json={"delegate": "erin", "starts_at": "2020-01-01", "ends_at": "2020-01-02"},
    )
    assert bad.status_code == 422 and "over" in bad.get_json()["error"]
    bad = client.post(
        "/api/me/out-of-office",
        headers=bob,
        json={"delegate": "erin", "starts_at": "soon", "ends_at": "2030-01-02"},
    )
    assert bad.status_code == 422 and bad.get_json()["field"] == "starts_at"
    # Cancelling one, then everything.
    assert client.delete("/api/me/out-of-office/999999", headers=bob).status_code == 404
    assert client.delete(f"/api/me/out-of-office/{period['id']}", headers=bob).get_json() == {
        "cancelled": [period["id"]]
    }
    assert client.get("/api/me/out-of-office", headers=bob).get_json()["items"] == []
    assert client.delete("/api/me/out-of-office", headers=bob).get_json() == {"cancelled": []}


def test_set_and_cancel_through_the_page(client, login, csrf_token, demo_org):
    login(client, "carol")
    page = client.get("/settings/out-of-office")
    assert page.status_code == 200 and '<label for="ooo-delegate">' in page.get_data(as_text=True)
    token = csrf_token(client, "/settings/out-of-office")
    start = date.today() + timedelta(days=3)
    form = {
        "delegate": str(demo_org["dave"].id),
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(days=4)).isoformat(),
        "csrf_token": token,
    }
    assert client.post("/settings/out-of-office", data={**form, "csrf_token": ""}).status_code == 400
    response = client.post("/settings/out-of-office", data=form)
    assert response.status_code == 303
    html = client.get("/settings/out-of-office").get_data(as_text=True)
    assert "acts for you" in html and demo_org["dave"].display_name in html
    # The same period again overlaps: 422 with the message on the page, the field marked.
    again = client.post("/settings/out-of-office", data=form)
    assert again.status_code == 422
    text = again.get_data(as_text=True)
    assert "overlaps" in text and 'id="ooo-start" name="starts_at"' in text and 'aria-invalid="true"' in text
    from formwork.workflow.models import Delegation

    period = db.session.scalars(select(Delegation)).one()
    assert (
        client.post(f"/settings/out-of-office/{period.id}/cancel", data={"csrf_token": token}).status_code
        == 303
    )
    db.session.expire_all()
    assert db.session.get(Delegation, period.id).cancelled_at is not None
    assert (
        client.post(f"/settings/out-of-office/{period.id}/cancel", data={"csrf_token": token}).status_code
        == 404
    )


def test_the_person_picker_does_not_list_everyone_and_takes_a_user_name(client, login, csrf_token, demo_org):
    login(client, "bob")
    page = client.get("/settings/out-of-office").get_data(as_text=True)
    # No list of every user in the page: the picker asks /people as the name is typed.
    assert demo_org["grace"].display_name not in page
    assert 'list="ooo-delegate-options"' in page and 'hx-get="/people?field=delegate"' in page
    matches = client.get("/people?field=delegate&delegate=erin", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    assert '<option value="erin">' in matches
    token = csrf_token(client, "/settings/out-of-office")
    response = client.post(
        "/settings/out-of-office",
        data={"delegate": "erin", "starts_at": "2099-01-01", "ends_at": "2099-01-05", "csrf_token": token},
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
