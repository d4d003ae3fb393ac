"""Signing in and out: success, failure, throttling, leavers, redirects."""

from __future__ import annotations

from datetime import timedelta

from formwork.demo import DEMO_PASSWORD
from formwork.extensions import db
from formwork.org import clock, users
from formwork.org.models import LoginThrottle


def _post_login(client, csrf_token, username, password, **extra):
    data = {"username": username, "password": password, "csrf_token": csrf_token(client), **extra}
    return client.post("/login", data=data, headers={"Accept-Language": "en"})


def test_login_page_has_bound_labels(client):
    html = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<label for="username">' in html and 'id="username"' in html
    assert '<label for="password">' in html and 'id="password"' in html
    assert 'name="csrf-token"' in html


def test_sign_in_success_and_sign_out(client, demo_org, csrf_token, probes):
    response = _post_login(client, csrf_token, "alice", DEMO_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/_probe/whoami").get_data(as_text=True) == "hello alice"

    # Sign-out is a POST with the CSRF token; GET does nothing.
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    response = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert client.get("/_probe/whoami").status_code == 302


def test_user_name_is_case_insensitive(client, demo_org, csrf_token):
    assert _post_login(client, csrf_token, "  Alice ", DEMO_PASSWORD).status_code == 302


def test_wrong_password_and_unknown_user_look_the_same(client, demo_org, csrf_token, probes):
    wrong = _post_login(client, csrf_token, "alice", "not-the-password")
    unknown = _post_login(client, csrf_token, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 200
    assert "Incorrect user name or password." in wrong.get_data(as_text=True)
    assert "Incorrect user name or password." in unknown.get_data(as_text=True)
    assert client.get("/_probe/whoami").status_code == 302


def test_lockout_after_repeated_failures_then_expiry(app, client, demo_org, csrf_token, monkeypatch):
    app.config.update(FORMWORK_LOGIN_MAX_FAILURES=3, FORMWORK_LOGIN_LOCK_SECONDS=600)
    for _ in range(2):
        assert _post_login(client, csrf_token, "bob", "wrong-password").status_code == 200
    locked = _post_login(client, csrf_token, "bob", "wrong-password")
    assert locked.status_code == 429
    assert "locked for 10 minute(s)" in locked.get_data(as_text=True)
    # While locked even the right password is refused, with the same message.
    still = _post_login(client, csrf_token, "bob", DEMO_PASSWORD)
    assert still.status_code == 429 and "locked" in still.get_data(as_text=True)

    later = clock.now() + timedelta(seconds=601)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert _post_login(client, csrf_token, "bob", DEMO_PASSWORD).status_code == 302
    assert db.session.query(LoginThrottle).filter_by(username="bob").count() == 0


def test_lockout_message_same_for_unknown_user(app, client, demo_org, csrf_token):
    app.config.update(FORMWORK_LOGIN_MAX_FAILURES=2)
    for name in ("carol", "ghost"):
        _post_login(client, csrf_token, name, "wrong-password")
    texts = [_post_login(client, csrf_token, name, "wrong-password") for name in ("carol", "ghost")]
    assert [r.status_code for r in texts] == [429, 429]
    body = [r.get_data(as_text=True) for r in texts]
    assert all("Too many failed sign-in attempts for this user name." in b for b in body)


def test_lock_is_per_user_name(app, client, demo_org, csrf_token):
    app.config.update(FORMWORK_LOGIN_MAX_FAILURES=1)
    assert _post_login(client, csrf_token, "frank", "wrong-password").status_code == 429
    assert _post_login(client, csrf_token, "grace", DEMO_PASSWORD).status_code == 302


def test_user_without_password_cannot_sign_in(client, demo_org, csrf_token):
    demo_org["erin"].password_hash = None
    db.session.commit()
    assert _post_login(client, csrf_token, "erin", "").status_code == 200
    assert _post_login(client, csrf_token, "erin", DEMO_PASSWORD).status_code == 200


def test_leaver_cannot_sign_in_and_session_ends_at_once(client, demo_org, login, csrf_token, probes):
    login(client, "frank")
    assert client.get("/_probe/whoami").status_code == 200
    assert client.get("/api/_probe/whoami").json == {"user": "frank", "method": "GET"}

    users.leave(demo_org["frank"])
    db.session.commit()

    assert client.get("/_probe/whoami").status_code == 302
    api = client.get("/api/_probe/whoami")
    assert api.status_code == 401 and api.json == {"error": "authentication required"}
    refused = _post_login(client, csrf_token, "frank", DEMO_PASSWORD)
    assert refused.status_code == 200 and "Incorrect user name or password." in refused.get_data(as_text=True)


def test_next_only_accepts_local_paths(client, demo_org, csrf_token):
    good = _post_login(client, csrf_token, "alice", DEMO_PASSWORD, next="/records?page=2")
    assert good.headers["Location"] == "/records?page=2"
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    for hostile in (
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
    ):
        response = _post_login(client, csrf_token, "alice", DEMO_PASSWORD, next=hostile)
        assert response.status_code == 302
        assert response.headers["Location"] == "/", hostile
        client.post("/logout", data={"csrf_token": csrf_token(client)})
    # A NUL anywhere in a request is refused before any view reads it: nobody is signed in.
    refused = _post_login(client, csrf_token, "alice", DEMO_PASSWORD, next="/\x00evil")
    assert refused.status_code == 400 and "NUL" in refused.get_data(as_text=True)
    assert client.get("/records").status_code == 302


def test_anonymous_page_redirects_to_login_with_next(client, probes):
    response = client.get("/_probe/whoami?x=1")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert (
        client.get("/_probe/whoami", headers={"HX-Request": "true"})
        .headers["HX-Redirect"]
        .startswith("/login")
    )


def test_signed_in_user_visiting_login_is_sent_on(client, demo_org, login):
    login(client, "alice")
    response = client.get("/login?next=/records")
    assert response.status_code == 302 and response.headers["Location"] == "/records"


def test_demo_users_listed_only_in_demo_mode(app, client, demo_org):
    assert "demo-password" not in client.get("/login").get_data(as_text=True)
    app.config["FORMWORK_DEMO"] = True
    html = client.get("/login").get_data(as_text=True)
    assert "demo-password" in html and "alice" in html
