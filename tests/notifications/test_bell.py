"""The bell in the header: on every page, with the unread count, refreshed by htmx; the list grouped
by day, each item leading to its task or record."""

from __future__ import annotations

import re
from datetime import timedelta

from formwork.db_types import utcnow
from formwork.extensions import db
from formwork.notifications import service
from formwork.notifications.models import Notification


def _notes(user, n: int = 2) -> list[Notification]:
    made = []
    for _ in range(n):
        made += service.notify([user.id], "cc", params={"record_id": 9, "title": "Trip"})
    db.session.commit()
    return made


def _bell(html: str) -> str:
    match = re.search(r'<a id="notification-bell".*?</a>', html, re.S)
    assert match, "no bell on the page"
    return match.group(0)


def test_every_page_has_the_bell_with_the_unread_count(app, client, demo_org, login):
    _notes(demo_org["bob"], 3)
    login(client, "bob")
    for path in ("/", "/inbox", "/requests", "/forms", "/notifications"):
        html = client.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
        bell = _bell(html)
        assert 'href="/notifications"' in bell and 'data-unread="3"' in bell, path
        assert "Notifications: 3 unread" in bell
        assert 'hx-get="/notifications/bell"' in bell and "every 30s" in bell


def test_the_bell_fragment_refreshes_and_says_none_unread(app, client, demo_org, login, csrf_token):
    _notes(demo_org["bob"], 1)
    login(client, "bob")
    fragment = client.get("/notifications/bell", headers={"HX-Request": "true", "Accept-Language": "en"})
    assert fragment.status_code == 200 and 'data-unread="1"' in fragment.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)
    token = csrf_token(client, "/notifications")
    client.post("/notifications/read-all", data={"csrf_token": token})
    after = client.get("/notifications/bell", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "data-unread" not in after and "Notifications: none unread" in after


def test_the_bell_of_an_expired_session_is_left_alone(app, client, demo_org):
    # 204: htmx swaps nothing (a redirect would put the login page into the header).
    assert client.get("/notifications/bell", headers={"HX-Request": "true"}).status_code == 204


def test_marking_read_in_place_refreshes_the_bell(app, client, demo_org, login, csrf_token):
    [note] = _notes(demo_org["bob"], 1)
    login(client, "bob")
    token = csrf_token(client, "/notifications")
    response = client.post(
        f"/notifications/{note.id}/read", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "formwork:notifications-changed"
    html = response.get_data(as_text=True)
    assert f'id="notification-{note.id}"' in html and "notification--unread" not in html
    assert service.unread_count(demo_org["bob"]) == 0


def test_the_list_is_grouped_by_day(app, client, demo_org, login):
    old, new = _notes(demo_org["bob"], 2)
    old.created_at = utcnow() - timedelta(days=3)
    db.session.commit()
    login(client, "bob")
    html = client.get("/notifications", headers={"Accept-Language": "en"}).get_data(as_text=True)
    headings = re.findall(
        r'<h2 id="notification-day-\d+"[^>]*>\s*<time datetime="([^"]+)">([^<]+)</time>', html
    )
    assert [text for _, text in headings][0] == "Today"
    assert len(headings) == 2 and headings[1][1] not in ("Today", "Yesterday")
    assert html.index(f'id="notification-{new.id}"') < html.index(f'id="notification-{old.id}"')
