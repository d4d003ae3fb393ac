"""CSRF, request size limits, error responses, security headers and role checks."""

from __future__ import annotations

import pytest

# ---- CSRF -------------------------------------------------------------------------------


def test_form_post_without_token_refused(client, demo_org, login, probes):
    login(client, "alice")
    response = client.post("/_probe/whoami", data={"x": "1"}, headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "The form has expired" in response.get_data(as_text=True)


def test_htmx_style_post_without_header_refused(client, demo_org, login, probes):
    login(client, "alice")
    response = client.post("/api/_probe/whoami", json={"x": 1}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "CSRF" in response.json["error"] or "csrf" in response.json["error"].lower()


def test_wrong_token_refused(client, demo_org, login, probes):
    login(client, "alice")
    response = client.post("/_probe/whoami", data={"csrf_token": "forged"})
    assert response.status_code == 400


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_header_token_accepted_for_every_method(client, demo_org, login, csrf_token, probes, method):
    login(client, "alice")
    token = csrf_token(client)
    response = getattr(client, method)("/api/_probe/whoami", json={}, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.json["user"] == "alice"


def test_form_field_token_accepted(client, demo_org, login, csrf_token, probes):
    login(client, "alice")
    response = client.post("/_probe/whoami", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 200


def test_token_from_another_session_refused(app, demo_org, login, csrf_token, probes):
    first, second = app.test_client(), app.test_client()
    login(first, "alice")
    login(second, "bob")
    response = second.post("/_probe/whoami", data={"csrf_token": csrf_token(first)})
    assert response.status_code == 400


def test_stale_token_is_marked_as_an_ended_session(client, demo_org, login, probes):
    # An in-page request whose token no longer matches: the page is told by a header, so it can
    # keep what was typed and offer to sign in again (formwork.js).
    login(client, "alice")
    response = client.post("/_probe/whoami", data={"x": "1"}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert response.headers["X-Formwork-Session"] == "expired"


def test_in_page_post_without_a_session_is_marked_not_redirected(app, demo_org, csrf_token, probes):
    app.config["WTF_CSRF_ENABLED"] = False  # past the token check: the sign-in itself is missing
    try:
        response = app.test_client().post("/_probe/whoami", headers={"HX-Request": "true"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = True
    assert response.status_code == 401
    assert response.headers["X-Formwork-Session"] == "expired"
    assert "HX-Redirect" not in response.headers


def test_session_state_gives_a_token_for_signing_in_again(client, demo_org):
    state = client.get("/session")
    assert state.status_code == 200 and state.headers["Cache-Control"] == "no-store"
    assert state.json["authenticated"] is False and state.json["csrf_token"]
    signed_in = client.post(
        "/login",
        data={"username": "alice", "password": "demo-password", "csrf_token": state.json["csrf_token"]},
    )
    assert signed_in.status_code == 302
    again = client.get("/session").json
    assert again["authenticated"] is True and again["username"] == "alice"
    # The new session's token is accepted where the old one would not be.
    assert client.post("/locale", data={"locale": "en", "csrf_token": again["csrf_token"]}).status_code in (
        302,
        303,
    )


def test_login_form_itself_needs_csrf(client, demo_org):
    response = client.post("/login", data={"username": "alice", "password": "demo-password"})
    assert response.status_code == 400


def test_locale_switch_needs_csrf(client):
    assert client.post("/locale", data={"locale": "en"}).status_code == 400


# ---- Request size ---------------------------------------------------------------------


def test_oversized_api_body_gets_json_413(app, client, demo_org, bearer, probes):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post(
        "/api/_probe/echo",
        data=b"x" * 2048,
        headers={**bearer("alice"), "Content-Type": "application/json", "Accept-Language": "en"},
    )
    assert response.status_code == 413
    assert response.is_json and "limit is 1024 bytes" in response.json["error"]
    small = client.post("/api/_probe/echo", data=b"x" * 100, headers=bearer("alice"))
    assert small.status_code == 200 and small.json == {"bytes": 100}


def test_oversized_browser_upload_gets_friendly_413(app, client, demo_org, login, csrf_token, probes):
    login(client, "alice")
    token = csrf_token(client)
    app.config["MAX_CONTENT_LENGTH"] = 1024
    import io

    response = client.post(
        "/_probe/upload",
        data={"csrf_token": token, "file": (io.BytesIO(b"x" * 4096), "big.pdf")},
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 413
    body = response.get_data(as_text=True)
    assert "Too large" in body and "limit is 1024 bytes" in body and "Traceback" not in body


# ---- Error responses ------------------------------------------------------------------


def test_unknown_api_url_is_json_404(client):
    response = client.get("/api/no/such/thing")
    assert response.status_code == 404 and response.json == {"error": "not found"}


def test_unknown_page_is_friendly_404(client):
    response = client.get("/no/such/page", headers={"Accept-Language": "en"})
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "Page not found" in response.get_data(as_text=True)


def test_wrong_method_on_api_is_json_405_with_allow(client, probes):
    response = client.get("/api/_probe/echo")
    assert response.status_code == 405 and response.is_json
    assert "POST" in response.headers["Allow"]


def test_unexpected_error_never_shows_a_trace(app, client, probes):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    page = client.get("/_probe/boom", headers={"Accept-Language": "en"})
    assert page.status_code == 500
    assert "secret internals" not in page.get_data(as_text=True) and "Traceback" not in page.get_data(
        as_text=True
    )
    api = client.get("/api/_probe/boom")
    assert api.status_code == 500 and api.json == {"error": "internal error"}


def test_security_headers_present(client):
    response = client.get("/login")
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "same-origin"
    assert client.get("/api/nothing").headers["X-Content-Type-Options"] == "nosniff"


def test_pages_have_no_inline_scripts_or_styles(client):
    import re

    html = client.get("/login").get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html and " style=" not in html and " on" + "click=" not in html
    assert "/static/vendor/htmx-2." in html and "/static/js/formwork.js" in html


def test_static_files_served(client):
    for path in ("/static/vendor/htmx-2.0.11.min.js", "/static/js/formwork.js", "/static/css/formwork.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()


# ---- Roles ----------------------------------------------------------------------------


def test_roles_required(client, app, demo_org, login, bearer, probes):
    assert client.get("/api/_probe/analysts").status_code == 401
    assert client.get("/_probe/cfo").status_code == 302
    assert client.get("/api/_probe/analysts", headers=bearer("admin")).status_code == 200
    denied = client.get("/api/_probe/analysts", headers=bearer("alice"))
    assert denied.status_code == 403 and denied.json == {"error": "forbidden"}
    login(client, "alice")
    assert client.get("/_probe/cfo").status_code == 403
    other = app.test_client()
    login(other, "dave")
    assert other.get("/_probe/cfo").get_data(as_text=True) == "cfo only"


def test_roles_required_needs_a_role():
    from formwork.org import roles_required

    with pytest.raises(ValueError):
        roles_required()


def test_private_pages_and_api_answers_are_never_stored(client, demo_org, login, bearer):
    """Cache-Control: no-store on every page and API answer; the bundled static files stay cacheable."""
    api = bearer("alice")
    answers = [
        client.get("/login"),
        client.get("/api/records", headers=api),
        client.get("/api/records/999999", headers=api),  # an error answer too
        client.get("/api/openapi.json", headers=api),
    ]
    login(client, "alice")
    answers += [client.get("/"), client.get("/inbox"), client.get("/records")]
    for response in answers:
        assert response.status_code < 500
        assert "no-store" in response.headers.get("Cache-Control", ""), response.request.path
    static = client.get("/static/css/formwork.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")
    static.close()
