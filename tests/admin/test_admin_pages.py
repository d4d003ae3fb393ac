"""The administration pages: each page and change, refusals shown beside the field with nothing
written, CSRF on every change, and a delegated administrator's 404 outside Sales on every path."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from formwork.extensions import db
from formwork.org.models import ApiToken, Department, Role, User
from formwork.org.tokens import create_token

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _dept(code: str) -> Department:
    return db.session.scalar(select(Department).where(Department.code == code))


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


@pytest.fixture
def page(client, demo_org, login):
    """``page(username)`` signs in and returns ``(get, post)``; post adds the page's CSRF token."""

    def sign_in(username: str):
        login(client, username)
        token = _CSRF.search(client.get("/").get_data(as_text=True)).group(1)

        def get(path: str, **kwargs):
            return client.get(path, **kwargs)

        def post(path: str, data: dict | None = None, **kwargs):
            return client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)

        return get, post

    return sign_in


def test_the_menu_shows_administration_to_administrators_only(page, client):
    get, _ = page("alice")
    assert "/admin/users" not in get("/").get_data(as_text=True)
    for path in (
        "/admin/",
        "/admin/users",
        "/admin/departments",
        "/admin/roles",
        "/admin/tokens",
        "/admin/users/new",
    ):
        assert get(path).status_code == 404, path
    client.post("/logout", data={"csrf_token": _CSRF.search(get("/").get_data(as_text=True)).group(1)})
    get, _ = page("sara")
    assert 'href="/admin/users"' in get("/").get_data(as_text=True)


def test_people_list_search_paging_and_htmx(page):
    get, _ = page("admin")
    html = get("/admin/users").get_data(as_text=True)
    assert "爱丽丝 Alice" in html and 'id="admin-results"' in html
    partial = get("/admin/users?q=alice", headers={"HX-Request": "true", "HX-Target": "admin-results"})
    body = partial.get_data(as_text=True)
    assert "爱丽丝 Alice" in body and "戴维 Dave" not in body and "<html" not in body
    assert "Page 1 of" not in get("/admin/users").get_data(as_text=True)  # 11 people: one page of 20
    assert get("/admin/users?page=%D9%A3").status_code == 200  # a page number in other digits: the first


def test_create_a_person_and_a_refusal_keeps_what_was_typed(page):
    get, post = page("admin")
    form = {
        "form": "create",
        "username": "Bad Name",
        "display_name": "Zoe",
        "department": str(_dept("SALES").id),
    }
    refused = post("/admin/users/new", form)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'role="alert"' in html and 'value="Bad Name"' in html and 'aria-invalid="true"' in html
    assert _user("bad name") is None
    created = post(
        "/admin/users/new", {**form, "username": "zoe", "manager": "bob", "password": "long-enough-1"}
    )
    assert created.status_code == 303
    zoe = _user("zoe")
    assert created.headers["Location"].endswith(f"/admin/users/{zoe.id}")
    assert zoe.department.code == "SALES" and zoe.manager.username == "bob"
    detail = get(f"/admin/users/{zoe.id}").get_data(as_text=True)
    assert "Zoe" in detail and "Leaving" in detail


def test_person_changes(page):
    get, post = page("admin")
    frank = _user("frank")
    base = f"/admin/users/{frank.id}"
    assert (
        post(
            f"{base}/edit", {"form": "edit", "display_name": "Frank F", "email": "f@example.com"}
        ).status_code
        == 303
    )
    assert post(f"{base}/move", {"form": "move", "department": str(_dept("FIN").id)}).status_code == 303
    assert post(f"{base}/manager", {"form": "manager", "manager": "carol"}).status_code == 303
    refused = post(f"{base}/manager", {"form": "manager", "manager": "frank"})
    assert refused.status_code == 422 and "circle" in refused.get_data(as_text=True)
    assert post(f"{base}/password", {"form": "password", "password": "short"}).status_code == 422
    assert post(f"{base}/password", {"form": "password", "password": "long-enough-1"}).status_code == 303
    granted = post(f"{base}/grant", {"form": "grant", "role": "cashier", "department": str(_dept("FIN").id)})
    assert granted.status_code == 303
    db.session.expire_all()
    frank = _user("frank")
    assert (frank.display_name, frank.email, frank.department.code, frank.manager.username) == (
        "Frank F",
        "f@example.com",
        "FIN",
        "carol",
    )
    grant = next(a for a in frank.role_assignments if a.role.key == "cashier")
    assert grant.department.code == "FIN"
    assert post(f"/admin/grants/{grant.id}/revoke", {"form": "grants"}).status_code == 303
    db.session.expire_all()
    assert "cashier" not in _user("frank").role_keys()


def test_moving_a_head_asks_for_the_new_head_on_the_page(page):
    get, post = page("admin")
    bob = _user("bob")
    html = get(f"/admin/users/{bob.id}").get_data(as_text=True)
    assert 'name="new_head"' in html
    refused = post(f"/admin/users/{bob.id}/move", {"form": "move", "department": str(_dept("FIN").id)})
    assert refused.status_code == 422 and "new head" in refused.get_data(as_text=True)
    moved = post(
        f"/admin/users/{bob.id}/move",
        {"form": "move", "department": str(_dept("FIN").id), "new_head": "frank"},
    )
    assert moved.status_code == 303
    db.session.expire_all()
    assert _dept("SALES").head.username == "frank"


def test_leaving_on_the_page(page, client, login, bearer):
    get, post = page("admin")
    alice = _user("alice")
    token = bearer("alice")
    done = post(f"/admin/users/{alice.id}/leave", {"form": "leave"})
    assert done.status_code == 303
    db.session.expire_all()
    assert not _user("alice").active
    assert client.get("/api/tasks", headers=token).status_code == 401
    assert "Left" in get(f"/admin/users/{alice.id}").get_data(as_text=True)
    assert "爱丽丝" in get("/admin/users?left=1").get_data(as_text=True)
    own = post(f"/admin/users/{_user('admin').id}/leave", {"form": "leave"})
    assert own.status_code == 422


def test_departments_pages(page):
    get, post = page("admin")
    html = get("/admin/departments").get_data(as_text=True)
    assert "Sales" in html and "admin-tree__item--depth-1" in html
    created = post(
        "/admin/departments",
        {
            "form": "create",
            "code": "SALES-E",
            "name_zh": "华东",
            "name_en": "East",
            "parent": str(_dept("SALES").id),
        },
    )
    assert created.status_code == 303
    east = _dept("SALES-E")
    base = f"/admin/departments/{east.id}"
    assert get(base).status_code == 200
    assert (
        post(f"{base}/rename", {"form": "rename", "name_zh": "华东区", "name_en": "East"}).status_code == 303
    )
    cycle = post(f"/admin/departments/{_dept('SALES').id}/move", {"form": "move", "parent": str(east.id)})
    assert cycle.status_code == 422 and "circle" in cycle.get_data(as_text=True)
    assert post(f"{base}/head", {"form": "head", "head": "alice"}).status_code == 303
    busy = post(f"/admin/departments/{_dept('SALES').id}/deactivate", {"form": "deactivate"})
    assert busy.status_code == 422 and "active people" in busy.get_data(as_text=True)
    assert post(f"{base}/deactivate", {"form": "deactivate"}).status_code == 303
    db.session.expire_all()
    assert _dept("SALES-E").active is False and _dept("SALES-E").name_zh == "华东区"
    assert _dept("SALES-E").head.username == "alice"
    duplicate = post(
        "/admin/departments", {"form": "create", "code": "SALES-E", "name_zh": "x", "name_en": "x"}
    )
    assert duplicate.status_code == 422


def test_roles_pages(page):
    get, post = page("admin")
    assert "employee" in get("/admin/roles").get_data(as_text=True)
    assert (
        post(
            "/admin/roles", {"form": "create", "key": "auditor", "name_zh": "审计", "name_en": "Auditor"}
        ).status_code
        == 303
    )
    role = db.session.scalar(select(Role).where(Role.key == "auditor"))
    assert (
        post(
            f"/admin/roles/{role.id}", {"form": "rename", "name_zh": "内审", "name_en": "Internal audit"}
        ).status_code
        == 303
    )
    assert (
        post("/admin/roles", {"form": "create", "key": "auditor", "name_zh": "x", "name_en": "x"}).status_code
        == 422
    )


def test_tokens_pages_show_a_new_token_once(page, client):
    get, post = page("admin")
    created = post("/admin/tokens", {"form": "create", "name": "deploy", "days": "30"})
    html = created.get_data(as_text=True)
    secret = re.search(r'id="new-token">(fw_[^<]+)<', html).group(1)
    assert client.get("/api/tasks", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert secret not in get("/admin/tokens").get_data(as_text=True)
    assert post("/admin/tokens", {"form": "create", "name": "x", "days": "٣"}).status_code == 422
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "deploy"))
    assert post(f"/admin/tokens/{token_id}/revoke", {"form": "tokens"}).status_code == 303
    assert client.get("/api/tasks", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_every_change_needs_the_csrf_token(client, demo_org, login):
    login(client, "admin")
    alice = _user("alice")
    for path, data in (
        ("/admin/users/new", {"username": "x", "display_name": "x"}),
        (f"/admin/users/{alice.id}/leave", {}),
        ("/admin/departments", {"code": "X", "name_zh": "x", "name_en": "x"}),
        ("/admin/roles", {"key": "x", "name_zh": "x", "name_en": "x"}),
        ("/admin/tokens", {"name": "x"}),
    ):
        assert client.post(path, data=data).status_code == 400, path
    db.session.expire_all()
    assert _user("alice").active and _user("x") is None


def _sara_paths() -> tuple[list[str], list[tuple[str, dict]]]:
    carol = _user("carol")
    fin = _dept("FIN").id
    token = create_token(carol, "carol's")
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == carol.id))
    assert token
    grant = carol.role_assignments[0].id
    role = db.session.scalar(select(Role.id).where(Role.key == "cfo"))
    gets = [
        f"/admin/users/{carol.id}",
        f"/admin/departments/{fin}",
        f"/admin/users/{2**31}",
        f"/admin/departments/{2**31}",
    ]
    posts = [
        (f"/admin/users/{carol.id}/edit", {"display_name": "x"}),
        (f"/admin/users/{carol.id}/move", {"department": "SALES", "new_head": "sara"}),
        (f"/admin/users/{carol.id}/manager", {"manager": ""}),
        (f"/admin/users/{carol.id}/password", {"password": "long-enough-1"}),
        (f"/admin/users/{carol.id}/grant", {"role": "cfo", "department": "SALES"}),
        (f"/admin/users/{carol.id}/leave", {}),
        (f"/admin/grants/{grant}/revoke", {}),
        (f"/admin/tokens/{token_id}/revoke", {}),
        (f"/admin/departments/{fin}/rename", {"name_zh": "x", "name_en": "x"}),
        (f"/admin/departments/{fin}/move", {"parent": "SALES"}),
        (f"/admin/departments/{fin}/head", {"head": "sara"}),
        (f"/admin/departments/{fin}/deactivate", {}),
        (f"/admin/roles/{role}", {"name_zh": "x", "name_en": "x"}),
        ("/admin/roles", {"key": "x", "name_zh": "x", "name_en": "x"}),
    ]
    return gets, posts


def test_a_delegated_administrator_gets_404_outside_sales_on_every_page(page):
    get, post = page("sara")
    gets, posts = _sara_paths()
    for path in gets:
        assert get(path).status_code == 404, path
    for path, data in posts:
        assert post(path, data).status_code == 404, path
    db.session.expire_all()
    carol = _user("carol")
    assert carol.active and carol.department.code == "FIN" and carol.display_name == "卡罗尔 Carol"
    assert _dept("FIN").name_en == "Finance" and _dept("FIN").head.username == "carol"
    assert db.session.scalar(select(ApiToken.revoked_at).where(ApiToken.user_id == carol.id)) is None
    # Within Sales, and the lists show Sales only.
    html = get("/admin/users").get_data(as_text=True)
    assert "爱丽丝 Alice" in html and "卡罗尔 Carol" not in html
    assert "财务部" not in get("/admin/departments").get_data(as_text=True)
    assert get(f"/admin/users/{_user('alice').id}").status_code == 200
    assert 'name="key"' not in get("/admin/roles").get_data(as_text=True)  # no form to define roles


def test_pages_in_chinese_and_english(page, client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    get, post = page("admin")
    html = get("/admin/users").get_data(as_text=True)
    assert "人员" in html and "系统管理" in html and "添加人员" in html
    bad = {"form": "create", "code": "bad code", "name_zh": "x", "name_en": "x"}
    refused = post("/admin/departments", bad)
    assert "编码由字母" in refused.get_data(as_text=True)
    post("/locale", {"locale": "en", "next": "/admin/users"})
    html = get("/admin/users").get_data(as_text=True)
    assert "People" in html and "Add a person" in html
