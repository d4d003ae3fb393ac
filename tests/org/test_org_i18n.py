"""Interface language: selection order, the language switch and the template helpers."""

from __future__ import annotations

from flask_babel import gettext, refresh

from formwork.extensions import db
from formwork.i18n import localized, normalise_locale


def _lang(response) -> str:
    return response.get_data(as_text=True).split('<html lang="')[1].split('"')[0]


def test_default_locale_is_chinese(client):
    response = client.get("/login")
    assert _lang(response) == "zh-CN"
    assert "登录" in response.get_data(as_text=True)


def test_browser_preference(client):
    assert _lang(client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})) == "en"
    assert _lang(client.get("/login", headers={"Accept-Language": "fr-FR, en;q=0.5, zh;q=0.8"})) == "zh-CN"
    assert _lang(client.get("/login", headers={"Accept-Language": "fr, de"})) == "zh-CN"


def test_switch_beats_browser(client, csrf_token):
    token = csrf_token(client)
    response = client.post("/locale", data={"locale": "en", "next": "/login", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    page = client.get("/login", headers={"Accept-Language": "zh-CN"})
    assert _lang(page) == "en" and "Sign in" in page.get_data(as_text=True)


def test_switch_refuses_foreign_next(client, csrf_token):
    response = client.post(
        "/locale", data={"locale": "en", "next": "https://evil.example/", "csrf_token": csrf_token(client)}
    )
    assert response.headers["Location"] == "/"


def test_user_preference_beats_everything(client, demo_org, login, csrf_token):
    demo_org["alice"].locale = "en"
    db.session.commit()
    login(client, "alice")
    page = client.get("/login", headers={"Accept-Language": "zh-CN"}, follow_redirects=True)
    assert _lang(page) == "en"


def test_switch_while_signed_in_saves_the_preference(app, client, demo_org, login, csrf_token):
    login(client, "bob")
    client.post("/locale", data={"locale": "en", "csrf_token": csrf_token(client)})
    db.session.expire_all()
    assert demo_org["bob"].locale == "en"
    # A new browser (no session) still gets the saved preference once signed in.
    other = app.test_client()
    login(other, "bob")
    assert _lang(other.get("/no-such-page", headers={"Accept-Language": "zh-CN"})) == "en"


def test_chinese_translation_is_compiled(app):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert gettext("Sign in") == "登录"
        assert gettext("Incorrect user name or password.") != "Incorrect user name or password."
    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh()
        assert gettext("Sign in") == "Sign in"


def test_localized_helper(app):
    label = {"zh-CN": "报销单", "en": "Expense claim"}
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert localized(label) == "Expense claim"
        assert localized({"zh-CN": "只有中文"}) == "只有中文"
        assert localized("plain") == "plain" and localized(None) == ""
        rendered = app.jinja_env.from_string("{{ localized(l) }}|{{ current_locale_tag() }}").render(l=label)
        assert rendered == "Expense claim|en"
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        refresh()  # the outer app context of the fixture keeps the previous locale in ``g``
        assert localized(label) == "报销单"
        assert localized({"en": "English only"}) == "English only"
    assert localized(label, "en") == "Expense claim"


def test_normalise_locale():
    assert normalise_locale("zh-CN") == normalise_locale("zh_Hans") == normalise_locale("ZH") == "zh_CN"
    assert normalise_locale("en-US") == "en"
    assert normalise_locale("fr") is None and normalise_locale(None) is None
