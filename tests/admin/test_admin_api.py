"""Administration through the API: every operation, every refusal, and a delegated administrator's
reach (Sara administers Sales only: anything else is a 404, exactly like an id that does not exist).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from formwork.extensions import db
from formwork.org.models import ApiToken, Department, RoleAssignment, User
from formwork.org.tokens import create_token
from formwork.records.access import sees_everything

BIG = 2**31


@pytest.fixture
def sara(client, demo_org, bearer):
    headers = bearer("sara")

    def call(method: str, path: str, json=None):
        return client.open(path, method=method, json=json, headers=headers)

    return call


def _dept(code: str) -> Department:
    return db.session.scalar(select(Department).where(Department.code == code))


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _refused(response, field: str) -> str:
    assert response.status_code == 422, response.get_data(as_text=True)
    data = response.get_json()
    assert data["field"] == field and data["errors"][0]["field"] == field
    return data["error"]


# ---- departments -------------------------------------------------------------------------------


def test_department_lifecycle(admin):
    created = admin(
        "POST",
        "/api/admin/departments",
        {"code": "SALES-E", "name_zh": "华东", "name_en": "East", "parent": "SALES"},
    )
    assert created.status_code == 201
    east = created.get_json()
    assert east["parent"] == _dept("SALES").id and east["active"] is True

    again = admin("POST", "/api/admin/departments", {"code": "SALES-E", "name_zh": "x", "name_en": "x"})
    assert "taken" in _refused(again, "code")
    _refused(
        admin("POST", "/api/admin/departments", {"code": "bad code", "name_zh": "x", "name_en": "x"}), "code"
    )
    _refused(
        admin("POST", "/api/admin/departments", {"code": "OK", "name_zh": " ", "name_en": "x"}), "name_zh"
    )
    nul = admin("POST", "/api/admin/departments", {"code": "OK", "name_zh": "a\x00b", "name_en": "x"})
    assert nul.status_code == 400 and nul.get_json()["field"] == "/name_zh"  # refused before the service

    renamed = admin(
        "PATCH", f"/api/admin/departments/{east['id']}", {"name_zh": "华东区", "name_en": "East region"}
    )
    assert renamed.get_json()["name_en"] == "East region"

    # A circle: Sales under its own sub-department, or under itself.
    assert "circle" in _refused(
        admin("POST", f"/api/admin/departments/{_dept('SALES').id}/move", {"parent": east["id"]}), "parent"
    )
    _refused(admin("POST", f"/api/admin/departments/{east['id']}/move", {"parent": east["id"]}), "parent")
    moved = admin("POST", f"/api/admin/departments/{east['id']}/move", {"parent": "FIN"})
    assert moved.get_json()["parent"] == _dept("FIN").id

    head = admin("POST", f"/api/admin/departments/{east['id']}/head", {"head": "carol"})
    assert head.get_json()["head"] == "carol"
    _refused(admin("POST", f"/api/admin/departments/{east['id']}/head", {"head": "nobody"}), "head")

    assert admin("POST", f"/api/admin/departments/{east['id']}/deactivate").get_json()["active"] is False
    # Nobody joins a closed department, and nothing is put under it.
    joiner = {"username": "late", "display_name": "Late", "department": "SALES-E"}
    assert "closed" in _refused(admin("POST", "/api/admin/users", joiner), "department")
    child = {"code": "SALES-E1", "name_zh": "x", "name_en": "x", "parent": "SALES-E"}
    _refused(admin("POST", "/api/admin/departments", child), "parent")


def test_deactivating_refused_while_people_or_children(admin):
    assert "active people" in _refused(
        admin("POST", f"/api/admin/departments/{_dept('SALES').id}/deactivate"), "department"
    )
    admin(
        "POST",
        "/api/admin/departments",
        {"code": "LEGAL-A", "name_zh": "甲", "name_en": "A", "parent": "LEGAL"},
    )
    for name in ("ivan",):
        admin("POST", f"/api/admin/users/{_user(name).id}/move", {"department": "HQ", "new_head": "ivan"})
    assert "sub-departments" in _refused(
        admin("POST", f"/api/admin/departments/{_dept('LEGAL').id}/deactivate"), "department"
    )
    db.session.expire_all()
    assert _dept("LEGAL").active is True


def test_departments_list_in_tree_order_searchable_and_paged(admin):
    listing = admin("GET", "/api/admin/departments?per_page=3").get_json()
    assert listing["total"] == 6 and len(listing["items"]) == 3
    assert listing["items"][0]["code"] == "HQ" and listing["items"][0]["depth"] == 0
    assert listing["items"][1]["depth"] == 1
    found = admin("GET", "/api/admin/departments?q=sales").get_json()
    assert [d["code"] for d in found["items"]] == ["SALES"]
    assert admin("GET", "/api/admin/departments?q=%E9%94%80").get_json()["total"] == 1  # 销


# ---- people ------------------------------------------------------------------------------------


def test_user_lifecycle(admin, client, login):
    body = {
        "username": "zoe",
        "display_name": "左伊 Zoe",
        "email": "zoe@example.com",
        "department": "SALES",
        "manager": "bob",
        "password": "long-enough-1",
    }
    created = admin("POST", "/api/admin/users", body)
    assert created.status_code == 201, created.get_json()
    zoe = created.get_json()
    assert admin("GET", "/api/admin/users?q=zuoyi").get_json()["total"] == 1  # the pinyin of 左伊
    assert (zoe["department"], zoe["manager"], zoe["grants"]) == ("SALES", "bob", [])
    assert "taken" in _refused(admin("POST", "/api/admin/users", body), "username")
    _refused(admin("POST", "/api/admin/users", {**body, "username": "Bad Name"}), "username")
    _refused(admin("POST", "/api/admin/users", {**body, "username": "zoe2", "password": "short"}), "password")
    _refused(admin("POST", "/api/admin/users", {**body, "username": "zoe2", "email": "no-at"}), "email")
    _refused(
        admin("POST", "/api/admin/users", {**body, "username": "zoe2", "department": "NOPE"}), "department"
    )
    _refused(admin("POST", "/api/admin/users", {**body, "username": "zoe2", "manager": str(BIG)}), "manager")

    edited = admin("PATCH", f"/api/admin/users/{zoe['id']}", {"display_name": "Zoe Z"})
    assert edited.get_json()["display_name"] == "Zoe Z" and edited.get_json()["email"] == "zoe@example.com"

    moved = admin("POST", f"/api/admin/users/{zoe['id']}/move", {"department": "FIN"})
    assert moved.get_json()["department"] == "FIN"
    assert (
        admin("POST", f"/api/admin/users/{zoe['id']}/manager", {"manager": "carol"}).get_json()["manager"]
        == "carol"
    )
    assert (
        admin("POST", f"/api/admin/users/{zoe['id']}/manager", {"manager": None}).get_json()["manager"]
        is None
    )

    login(client, "zoe", "long-enough-1")
    assert client.get("/api/tasks").status_code == 200
    assert (
        admin("POST", f"/api/admin/users/{zoe['id']}/password", {"password": "another-one-2"}).status_code
        == 200
    )
    assert client.get("/api/tasks").status_code == 401  # the session ended with the old password
    _refused(admin("POST", f"/api/admin/users/{zoe['id']}/password", {"password": "short"}), "password")

    assert admin("GET", "/api/admin/users?q=zoe").get_json()["total"] == 1
    assert admin("GET", "/api/admin/users?q=zoe%40example").get_json()["total"] == 1  # by e-mail address


def test_manager_circles_refused(admin):
    # bob manages alice; making alice bob's manager would make a circle (and so would bob himself).
    assert "circle" in _refused(
        admin("POST", f"/api/admin/users/{_user('bob').id}/manager", {"manager": "alice"}), "manager"
    )
    _refused(admin("POST", f"/api/admin/users/{_user('bob').id}/manager", {"manager": "bob"}), "manager")
    # dave is above bob: dave reporting to alice is a circle through bob.
    _refused(admin("POST", f"/api/admin/users/{_user('dave').id}/manager", {"manager": "alice"}), "manager")


def test_moving_a_head_asks_for_the_new_head(admin):
    bob = _user("bob")
    message = _refused(admin("POST", f"/api/admin/users/{bob.id}/move", {"department": "FIN"}), "new_head")
    assert "new head" in message
    db.session.expire_all()
    assert _user("bob").department.code == "SALES"  # nothing written
    moved = admin("POST", f"/api/admin/users/{bob.id}/move", {"department": "FIN", "new_head": "frank"})
    assert moved.status_code == 200
    db.session.expire_all()
    assert _dept("SALES").head.username == "frank"


def test_users_list_paged(admin):
    first = admin("GET", "/api/admin/users?per_page=4").get_json()
    second = admin("GET", "/api/admin/users?per_page=4&page=2").get_json()
    assert first["total"] == 11 and len(first["items"]) == 4
    assert not {u["username"] for u in first["items"]} & {u["username"] for u in second["items"]}


# ---- grants and roles --------------------------------------------------------------------------


def test_grants(admin):
    alice = _user("alice")
    granted = admin(
        "POST", "/api/admin/grants", {"user": "alice", "role": "finance_reviewer", "department": "SALES"}
    )
    assert granted.status_code == 201
    grant = granted.get_json()
    assert (grant["role"], grant["department"]) == ("finance_reviewer", "SALES")
    again = admin(
        "POST", "/api/admin/grants", {"user": alice.id, "role": "finance_reviewer", "department": "SALES"}
    )
    assert again.get_json()["id"] == grant["id"]  # a double submit grants once
    assert db.session.get(RoleAssignment, grant["id"]).granted_by_id == _user("admin").id
    _refused(admin("POST", "/api/admin/grants", {"user": "alice", "role": "nope"}), "role")
    _refused(admin("POST", "/api/admin/grants", {"user": "ghost", "role": "cfo"}), "user")

    detail = admin("GET", f"/api/admin/users/{alice.id}").get_json()
    assert {(g["role"], g["department"]) for g in detail["grants"]} == {
        ("employee", None),
        ("finance_reviewer", "SALES"),
    }
    assert admin("DELETE", f"/api/admin/grants/{grant['id']}").status_code == 200
    assert admin("DELETE", f"/api/admin/grants/{grant['id']}").status_code == 404


def test_own_administrator_grant_cannot_be_revoked(admin):
    own_admin = [a for a in _user("admin").role_assignments if a.role.key == "administrator"][0]
    _refused(admin("DELETE", f"/api/admin/grants/{own_admin.id}"), "grant")


def test_roles(admin):
    created = admin("POST", "/api/admin/roles", {"key": "auditor", "name_zh": "审计", "name_en": "Auditor"})
    assert created.status_code == 201
    role = created.get_json()
    assert "taken" in _refused(
        admin("POST", "/api/admin/roles", {"key": "auditor", "name_zh": "x", "name_en": "x"}), "key"
    )
    _refused(admin("POST", "/api/admin/roles", {"key": "Bad Key", "name_zh": "x", "name_en": "x"}), "key")
    renamed = admin(
        "PATCH",
        f"/api/admin/roles/{role['id']}",
        {"name_zh": "内审", "name_en": "Internal auditor", "description": "Reads"},
    )
    assert renamed.get_json()["name_en"] == "Internal auditor"
    listing = admin("GET", "/api/admin/roles?q=audit").get_json()
    assert [r["key"] for r in listing["items"]] == ["auditor"]


# ---- tokens ------------------------------------------------------------------------------------


def test_tokens(admin, client):
    created = admin("POST", "/api/admin/tokens", {"name": "deploy", "days": 30})
    assert created.status_code == 201
    secret = created.get_json()["token"]
    assert secret.startswith("fw_")
    assert client.get("/api/tasks", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    _refused(admin("POST", "/api/admin/tokens", {"name": " "}), "name")

    carol_secret = create_token(_user("carol"), "carol's")
    listing = admin("GET", "/api/admin/tokens?q=carol").get_json()
    assert [t["name"] for t in listing["items"]] == ["carol's"]
    assert "token_hash" not in listing["items"][0] and secret not in str(listing)
    token_id = listing["items"][0]["id"]
    assert admin("DELETE", f"/api/admin/tokens/{token_id}").get_json()["revoked_at"] is not None
    assert admin("DELETE", f"/api/admin/tokens/{token_id}").status_code == 200  # again: no change
    assert client.get("/api/tasks", headers={"Authorization": f"Bearer {carol_secret}"}).status_code == 401


# ---- hostile ids and people who administer nothing ---------------------------------------------


ID_PATHS = [
    ("GET", "/api/admin/departments/{}"),
    ("PATCH", "/api/admin/departments/{}"),
    ("POST", "/api/admin/departments/{}/move"),
    ("POST", "/api/admin/departments/{}/head"),
    ("POST", "/api/admin/departments/{}/deactivate"),
    ("GET", "/api/admin/users/{}"),
    ("PATCH", "/api/admin/users/{}"),
    ("POST", "/api/admin/users/{}/move"),
    ("POST", "/api/admin/users/{}/manager"),
    ("POST", "/api/admin/users/{}/password"),
    ("POST", "/api/admin/users/{}/leave"),
    ("DELETE", "/api/admin/grants/{}"),
    ("PATCH", "/api/admin/roles/{}"),
    ("DELETE", "/api/admin/tokens/{}"),
]


def _body(method: str, path: str) -> dict | None:
    if path.endswith("/move"):
        return {"parent": "SALES"} if "departments" in path else {"department": "SALES"}
    if path.endswith("/head"):
        return {"head": None}
    if path.endswith("/manager"):
        return {"manager": None}
    if path.endswith("/password"):
        return {"password": "long-enough-1"}
    if path.endswith("/leave"):
        return {}
    if method == "PATCH":
        return {"display_name": "x"} if "users" in path else {"name_zh": "x", "name_en": "x"}
    return None


@pytest.mark.parametrize("method,path", ID_PATHS)
@pytest.mark.parametrize("ident", [str(BIG), "99999999", "٣", "0"])
def test_ids_that_name_nothing_are_404(admin, method, path, ident):
    response = admin(method, path.format(ident), _body(method, path))
    assert response.status_code == 404
    assert "error" in response.get_json()


LISTS = ["/api/admin/departments", "/api/admin/users", "/api/admin/roles", "/api/admin/tokens"]


def test_non_administrators_find_nothing(client, demo_org, bearer):
    headers = bearer("alice")
    for path in LISTS:
        assert client.get(path, headers=headers).status_code == 404
    for method, path in ID_PATHS:
        target = _user("bob").id if "users" in path else 1
        assert (
            client.open(
                path.format(target), method=method, json=_body(method, path), headers=headers
            ).status_code
            == 404
        )
    assert (
        client.post(
            "/api/admin/users", json={"username": "x", "display_name": "x"}, headers=headers
        ).status_code
        == 404
    )
    assert client.post("/api/admin/tokens", json={"name": "x"}, headers=headers).status_code == 404


def test_session_writes_need_csrf(client, demo_org, login):
    login(client, "admin")
    response = client.post("/api/admin/departments", json={"code": "X", "name_zh": "x", "name_en": "x"})
    assert response.status_code == 400 and "CSRF" in response.get_json()["error"]


# ---- delegated administration ------------------------------------------------------------------


def test_delegated_administrator_sees_only_sales(sara):
    users = sara("GET", "/api/admin/users?per_page=100").get_json()
    assert {u["username"] for u in users["items"]} == {"alice", "bob", "frank", "sara"}
    departments = sara("GET", "/api/admin/departments").get_json()
    assert [d["code"] for d in departments["items"]] == ["SALES"]
    assert sara("GET", "/api/admin/tokens?q=carol").get_json()["total"] == 0


def _out_of_scope_targets() -> dict[str, int]:
    carol = _user("carol")
    create_token(carol, "carol's")
    return {
        "departments": _dept("FIN").id,
        "users": carol.id,
        "grants": carol.role_assignments[0].id,
        "tokens": db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == carol.id)),
        "roles": db.session.scalar(select(RoleAssignment.role_id).limit(1)),
    }


@pytest.mark.parametrize("method,path", ID_PATHS)
def test_delegated_administrator_refused_outside_sales(sara, method, path):
    targets = _out_of_scope_targets()
    kind = path.split("/")[3]
    response = sara(method, path.format(targets[kind]), _body(method, path))
    assert response.status_code == 404, (path, response.get_json())
    db.session.expire_all()
    carol = _user("carol")
    assert carol.active and carol.department.code == "FIN" and carol.role_assignments
    assert _dept("FIN").name_en == "Finance" and _dept("FIN").head.username == "carol"


def test_delegated_administrator_works_inside_sales(sara):
    created = sara(
        "POST",
        "/api/admin/departments",
        {"code": "SALES-N", "name_zh": "华北", "name_en": "North", "parent": "SALES"},
    )
    assert created.status_code == 201
    # Not at the top level, nor under a department outside Sales; Sales itself stays where it is.
    _refused(
        sara("POST", "/api/admin/departments", {"code": "TOP", "name_zh": "x", "name_en": "x"}), "parent"
    )
    _refused(
        sara(
            "POST",
            "/api/admin/departments",
            {"code": "FIN-X", "name_zh": "x", "name_en": "x", "parent": "FIN"},
        ),
        "parent",
    )
    _refused(
        sara("POST", f"/api/admin/departments/{_dept('SALES').id}/move", {"parent": "SALES-N"}), "parent"
    )

    user = sara(
        "POST", "/api/admin/users", {"username": "sam", "display_name": "Sam", "department": "SALES-N"}
    )
    assert user.status_code == 201
    _refused(
        sara("POST", "/api/admin/users", {"username": "sam2", "display_name": "Sam", "department": "FIN"}),
        "department",
    )
    _refused(sara("POST", "/api/admin/users", {"username": "sam2", "display_name": "Sam"}), "department")
    sam = user.get_json()["id"]
    _refused(sara("POST", f"/api/admin/users/{sam}/move", {"department": "HR"}), "department")
    _refused(sara("POST", f"/api/admin/users/{sam}/manager", {"manager": "dave"}), "manager")
    assert sara("POST", f"/api/admin/users/{sam}/manager", {"manager": "bob"}).status_code == 200

    # Grants: only limited to a department she administers; never organisation-wide.
    _refused(sara("POST", "/api/admin/grants", {"user": "sam", "role": "administrator"}), "department")
    _refused(
        sara("POST", "/api/admin/grants", {"user": "sam", "role": "cfo", "department": "FIN"}), "department"
    )
    _refused(
        sara("POST", "/api/admin/grants", {"user": "carol", "role": "cfo", "department": "SALES"}), "user"
    )
    granted = sara(
        "POST", "/api/admin/grants", {"user": "sam", "role": "administrator", "department": "SALES-N"}
    )
    assert granted.status_code == 201
    # alice's organisation-wide employee role is beyond Sara's reach: shown, not revocable.
    alice_employee = _user("alice").role_assignments[0]
    assert sara("DELETE", f"/api/admin/grants/{alice_employee.id}").status_code == 404
    assert sara("DELETE", f"/api/admin/grants/{granted.get_json()['id']}").status_code == 200

    # Roles are read, not defined, by a delegated administrator.
    assert sara("GET", "/api/admin/roles").status_code == 200
    assert sara("POST", "/api/admin/roles", {"key": "x", "name_zh": "x", "name_en": "x"}).status_code == 404
    # Her own token.
    assert sara("POST", "/api/admin/tokens", {"name": "mine"}).status_code == 201


def test_delegated_administrator_is_not_an_administrator_elsewhere(demo_org):
    """Her grant is limited to Sales: no organisation-wide administrator rights (all records, definitions)."""
    sara = _user("sara")
    assert "administrator" not in sara.role_keys() and not sara.has_role("administrator")
    assert sees_everything(sara) is False
    assert sees_everything(_user("admin")) is True
