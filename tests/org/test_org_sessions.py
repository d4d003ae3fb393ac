"""Sessions that end: a copied cookie stops working after sign-out, a password change, a leaver,
and "sign out everywhere" (which ends every device's session, not only the one that asked)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from formwork.extensions import db
from formwork.org import clock, users
from formwork.org.models import SignInSession


def _copy_of_cookie(app, client):
    """A second browser holding a copy of ``client``'s session cookie, as someone who stole it would."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def _signed_in_as(client, username) -> bool:
    response = client.get("/_probe/whoami")
    return response.status_code == 200 and response.get_data(as_text=True) == f"hello {username}"


def _sessions_of(user) -> int:
    return db.session.scalar(select(func.count()).where(SignInSession.user_id == user.id))


def test_cookie_copied_before_sign_out_no_longer_works(app, client, demo_org, login, csrf_token, probes):
    login(client, "alice")
    copy = _copy_of_cookie(app, client)
    assert _signed_in_as(copy, "alice")

    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert _sessions_of(demo_org["alice"]) == 0

    page = copy.get("/_probe/whoami")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    api = copy.get("/api/_probe/whoami")
    assert api.status_code == 401 and api.get_json() == {"error": "authentication required"}


def test_sign_out_ends_only_that_session(app, demo_org, login, csrf_token, probes):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "alice")
    login(phone, "alice")
    laptop.post("/logout", data={"csrf_token": csrf_token(laptop, "/")})
    assert not _signed_in_as(laptop, "alice")
    assert _signed_in_as(phone, "alice")


def test_set_password_from_the_command_line_ends_every_session(app, runner, demo_org, login, probes):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "henry")
    login(phone, "henry")
    login(app.test_client(), "alice")
    result = runner.invoke(
        args=["users", "set-password", "henry", "--password-stdin"], input="new-password-1\n"
    )
    assert result.exit_code == 0, result.output
    assert not _signed_in_as(laptop, "henry") and not _signed_in_as(phone, "henry")
    assert laptop.get("/api/_probe/whoami").status_code == 401
    assert _sessions_of(demo_org["alice"]) == 1  # other people stay signed in
    login(laptop, "henry", "new-password-1")
    assert _signed_in_as(laptop, "henry")


def test_leaver_is_signed_out_and_tokens_stop(app, client, runner, demo_org, login, bearer, probes):
    login(client, "ivan")
    copy = _copy_of_cookie(app, client)
    headers = bearer("ivan")
    assert client.get("/api/_probe/whoami", headers=headers).status_code == 200
    assert runner.invoke(args=["users", "leave", "ivan"]).exit_code == 0
    assert not _signed_in_as(client, "ivan") and not _signed_in_as(copy, "ivan")
    assert app.test_client().get("/api/_probe/whoami", headers=headers).status_code == 401
    assert _sessions_of(demo_org["ivan"]) == 0


def test_deactivated_directly_is_refused_even_with_a_live_session_row(app, client, demo_org, login, probes):
    # A leaver recorded by another path than users.leave (active switched off) is still refused.
    login(client, "ivan")
    demo_org["ivan"].active = False
    db.session.commit()
    assert not _signed_in_as(client, "ivan")


def test_sign_out_everywhere_ends_every_device(app, demo_org, login, csrf_token, probes):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "alice")
    login(phone, "alice")
    other = login(app.test_client(), "bob")

    # A POST with the CSRF token; the button is on every page for a signed-in person.
    page = phone.get("/").get_data(as_text=True)
    assert 'action="/logout/everywhere"' in page
    assert phone.post("/logout/everywhere").status_code == 400
    response = phone.post("/logout/everywhere", data={"csrf_token": csrf_token(phone, "/")})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")

    assert not _signed_in_as(phone, "alice") and not _signed_in_as(laptop, "alice")
    assert _signed_in_as(other, "bob")


def test_cookie_without_a_session_key_is_signed_out(app, client, demo_org, probes):
    # A cookie from before server-side sessions (or forged with the key) names no session row.
    with client.session_transaction() as session:
        session["_user_id"] = str(demo_org["alice"].id)
        session["_fresh"] = True
    assert client.get("/_probe/whoami").status_code == 302


def test_sessions_expire_after_the_configured_days(app, client, demo_org, login, monkeypatch, probes):
    app.config["FORMWORK_SESSION_MAX_DAYS"] = 2
    login(client, "alice")
    later = clock.now() + timedelta(days=2, seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert not _signed_in_as(client, "alice")
    # Signing in again removes the expired row and makes a new one.
    login(client, "alice")
    assert _sessions_of(demo_org["alice"]) == 1 and _signed_in_as(client, "alice")


def test_set_password_service_ends_sessions(app, client, demo_org, login, probes):
    login(client, "carol")
    users.set_password(demo_org["carol"], "another-password")
    db.session.commit()
    assert not _signed_in_as(client, "carol")
