"""API bearer tokens: creation, use, revocation, expiry, leavers, and the CLI."""

from __future__ import annotations

from datetime import timedelta

from formwork.extensions import db
from formwork.org import clock, tokens, users
from formwork.org.models import ApiToken, hash_token


def test_token_is_shown_once_and_stored_hashed(app, demo_org):
    plaintext = tokens.create_token(demo_org["alice"], "laptop")
    assert plaintext.startswith("fw_") and len(plaintext) > 40
    stored = db.session.query(ApiToken).one()
    assert stored.token_hash == hash_token(plaintext) and plaintext not in stored.token_hash


def test_bearer_token_authenticates_api_calls(client, demo_org, bearer, probes):
    headers = bearer("alice")
    assert client.get("/api/_probe/whoami", headers=headers).json["user"] == "alice"
    stored = db.session.query(ApiToken).one()
    assert stored.last_used_at is not None


def test_bearer_request_needs_no_csrf_token(client, demo_org, bearer, probes):
    headers = bearer("carol")
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)("/api/_probe/whoami", json={"x": 1}, headers=headers)
        assert response.status_code == 200, method
        assert response.json["user"] == "carol"


def test_bearer_wins_over_a_session_cookie(client, demo_org, login, bearer, probes):
    login(client, "alice")
    assert client.post("/api/_probe/whoami", headers=bearer("bob")).json["user"] == "bob"


def test_revoked_token_refused(client, demo_org, bearer, probes):
    headers = bearer("alice")
    token_id = db.session.query(ApiToken).one().id
    tokens.revoke_token(token_id)
    response = client.get("/api/_probe/whoami", headers=headers)
    assert response.status_code == 401 and "error" in response.json


def test_expired_token_refused(client, demo_org, bearer, probes, monkeypatch):
    headers = bearer("alice", days=1)
    assert client.get("/api/_probe/whoami", headers=headers).status_code == 200
    later = clock.now() + timedelta(days=1, seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert client.get("/api/_probe/whoami", headers=headers).status_code == 401


def test_token_of_leaver_refused(client, demo_org, bearer, probes):
    headers = bearer("grace")
    users.leave(demo_org["grace"])
    db.session.commit()
    assert client.get("/api/_probe/whoami", headers=headers).status_code == 401
    assert db.session.query(ApiToken).one().revoked_at is not None


def test_garbage_tokens_refused_without_csrf_fallback(client, demo_org, probes):
    for value in ("Bearer nope", "Bearer fw_" + "x" * 43, "Bearer ", "bearer fw_" + "y" * 500):
        response = client.post("/api/_probe/whoami", headers={"Authorization": value})
        assert response.status_code == 401, value
        assert response.json["error"]


def test_last_used_is_written_at_most_once_a_minute(client, demo_org, bearer, probes, monkeypatch):
    headers = bearer("alice")
    client.get("/api/_probe/whoami", headers=headers)
    first = clock.as_utc(db.session.query(ApiToken).one().last_used_at)
    client.get("/api/_probe/whoami", headers=headers)
    db.session.expire_all()
    assert clock.as_utc(db.session.query(ApiToken).one().last_used_at) == first
    later = clock.now() + timedelta(minutes=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    client.get("/api/_probe/whoami", headers=headers)
    db.session.expire_all()
    assert clock.as_utc(db.session.query(ApiToken).one().last_used_at) > first


def test_tokens_cli_create_list_revoke(runner, client, demo_org, probes):
    result = runner.invoke(args=["tokens", "create", "dave", "--name", "ci", "--days", "30"])
    assert result.exit_code == 0, result.output
    plaintext = result.output.strip().splitlines()[-1]
    assert plaintext.startswith("fw_")
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/_probe/whoami", headers=headers).json["user"] == "dave"

    listing = runner.invoke(args=["tokens", "list", "dave"])
    assert listing.exit_code == 0 and "\tci\tlive\t" in listing.output and plaintext not in listing.output
    token_id = listing.output.split("\t")[0]
    assert runner.invoke(args=["tokens", "revoke", token_id]).exit_code == 0
    assert client.get("/api/_probe/whoami", headers=headers).status_code == 401
    assert "\trevoked\t" in runner.invoke(args=["tokens", "list", "dave"]).output

    assert runner.invoke(args=["tokens", "create", "nobody"]).exit_code != 0
    assert runner.invoke(args=["tokens", "revoke", "9999"]).exit_code != 0
    assert runner.invoke(args=["tokens", "create", "dave", "--days", "0"]).exit_code != 0
