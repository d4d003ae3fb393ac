"""The notifications page and API: list, mark read, mark all read, CSRF, unread count."""

from __future__ import annotations

from formwork.extensions import db
from formwork.notifications import service


def _seed(demo_org, n: int = 3):
    for _ in range(n):
        service.notify([demo_org["bob"].id], "cc", params={"record_id": 9, "title": "Trip"})
    service.notify([demo_org["carol"].id], "cc")
    db.session.commit()


def test_api_lists_marks_and_counts(app, client, demo_org, bearer):
    _seed(demo_org)
    headers = {**bearer("bob"), "Accept-Language": "en"}
    page = client.get("/api/notifications?per_page=2", headers=headers)
    assert page.status_code == 200
    body = page.get_json()
    assert (body["total"], body["unread"], len(body["items"])) == (3, 3, 2)
    first = body["items"][0]
    assert first["kind"] == "cc" and first["read"] is False and first["subject"]
    response = client.post(f"/api/notifications/{first['id']}/read", headers=headers)
    assert response.status_code == 200 and response.get_json()["read"] is True
    assert client.get("/api/notifications?unread=1", headers=headers).get_json()["total"] == 2
    assert client.post("/api/notifications/read-all", headers=headers).get_json()["marked"] == 2
    assert client.get("/api/notifications", headers=headers).get_json()["unread"] == 0


def test_api_refuses_other_peoples_notifications_and_bad_parameters(app, client, demo_org, bearer):
    _seed(demo_org)
    carols = service.notifications_of(demo_org["carol"])[0][0]
    response = client.post(f"/api/notifications/{carols.id}/read", headers=bearer("bob"))
    assert response.status_code == 404 and "error" in response.get_json()
    assert client.get("/api/notifications?page=0", headers=bearer("bob")).status_code == 400
    assert client.get("/api/notifications").status_code == 401


def test_page_lists_and_marks_read_with_csrf(app, client, demo_org, login, csrf_token):
    _seed(demo_org, 2)
    login(client, "bob")
    page = client.get("/notifications", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "For your information: #9 Trip" in text or "抄送：#9 Trip" in text
    assert service.unread_count(demo_org["bob"]) == 2
    # without the CSRF token nothing changes
    assert client.post("/notifications/read-all").status_code == 400
    assert service.unread_count(demo_org["bob"]) == 2
    token = csrf_token(client, "/notifications")
    response = client.post("/notifications/read-all", data={"csrf_token": token})
    assert response.status_code == 302
    assert service.unread_count(demo_org["bob"]) == 0


def test_open_marks_read_and_goes_to_the_record(app, client, demo_org, login, csrf_token):
    [note] = service.notify([demo_org["bob"].id], "cc", params={"record_id": None})
    note.record_id = None
    db.session.commit()
    login(client, "bob")
    token = csrf_token(client, "/notifications")
    response = client.post(f"/notifications/{note.id}/read", data={"csrf_token": token, "open": "1"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/notifications")
    assert service.unread_count(demo_org["bob"]) == 0
    assert client.post("/notifications/999999/read", data={"csrf_token": token}).status_code == 404


def test_unread_count_is_a_template_global(app, demo_org):
    _seed(demo_org, 2)
    assert "unread_notifications" in app.jinja_env.globals
    with app.test_request_context():
        from flask_login import login_user

        login_user(demo_org["bob"])
        assert app.jinja_env.globals["unread_notifications"]() == 2
