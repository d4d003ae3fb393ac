"""The demo organisation matches CONTRACT.md, loads idempotently and has no default passwords outside demo
mode.
"""

from __future__ import annotations

from sqlalchemy import func, select

from formwork.demo import DEMO_PASSWORD, seed_demo_org
from formwork.extensions import db
from formwork.org.models import Department, Role, RoleAssignment, User

# CONTRACT.md, "Demo organisation" (plus the analyst role for admin, so they can publish definitions, and
# security_owner, so they approve permission requests).
CONTRACT_USERS = {
    #  user:    (department, roles, manager)
    "admin": ("HQ", {"administrator", "analyst", "security_owner"}, None),
    "dave": ("HQ", {"cfo"}, None),
    "bob": ("SALES", set(), "dave"),
    "alice": ("SALES", {"employee"}, "bob"),
    "frank": ("SALES", {"employee"}, "bob"),
    "carol": ("FIN", {"finance_reviewer"}, "dave"),
    "grace": ("FIN", {"cashier"}, "carol"),
    "erin": ("HR", {"employee"}, "dave"),
    "henry": ("PUR", {"employee"}, "dave"),
    "ivan": ("LEGAL", {"legal_reviewer"}, "dave"),
    # Beyond CONTRACT.md: the delegated administrator of Sales (her administrator role is limited to
    # Sales, so it is not among her organisation-wide role keys).
    "sara": ("SALES", set(), "bob"),
}
CONTRACT_DEPARTMENTS = {
    #  code: (zh, en, parent, head)
    "HQ": ("总公司", "Head Office", None, "dave"),
    "SALES": ("销售部", "Sales", "HQ", "bob"),
    "FIN": ("财务部", "Finance", "HQ", "carol"),
    "HR": ("人力资源部", "HR", "HQ", "erin"),
    "PUR": ("采购部", "Purchasing", "HQ", "henry"),
    "LEGAL": ("法务部", "Legal", "HQ", "ivan"),
}
ROLE_KEYS = {
    "administrator",
    "analyst",
    "cfo",
    "finance_reviewer",
    "cashier",
    "legal_reviewer",
    "employee",
    "security_owner",
}


def _snapshot() -> dict:
    users = {
        u.username: (
            u.department.code,
            frozenset(u.role_keys()),
            u.manager.username if u.manager else None,
            u.active,
        )
        for u in db.session.scalars(select(User))
    }
    departments = {
        d.code: (
            d.name_zh,
            d.name_en,
            d.parent.code if d.parent else None,
            d.head.username if d.head else None,
        )
        for d in db.session.scalars(select(Department))
    }
    counts = tuple(
        db.session.scalar(select(func.count()).select_from(m))
        for m in (User, Department, Role, RoleAssignment)
    )
    return {"users": users, "departments": departments, "counts": counts}


def test_demo_org_matches_contract(app, demo_org):
    snap = _snapshot()
    assert snap["departments"] == CONTRACT_DEPARTMENTS
    assert {name: (d, set(r), m) for name, (d, r, m, _a) in snap["users"].items()} == CONTRACT_USERS
    assert all(active for *_rest, active in snap["users"].values())
    assert set(db.session.scalars(select(Role.key))) == ROLE_KEYS
    assert db.session.get(Department, demo_org["alice"].department_id).name("en") == "Sales"


def test_seed_is_idempotent(app, demo_org):
    before = _snapshot()
    again = seed_demo_org(demo_passwords=True)
    db.session.expire_all()
    assert _snapshot() == before
    assert sorted(again) == sorted(CONTRACT_USERS)


def test_seed_repairs_drift(app, demo_org):
    from formwork.org import users

    users.leave(demo_org["frank"])
    users.grant_role(demo_org["alice"], "cfo")
    demo_org["bob"].manager = demo_org["alice"]
    db.session.commit()
    seed_demo_org(demo_passwords=True)
    db.session.expire_all()
    snap = _snapshot()
    assert snap["users"]["frank"][3] is True
    assert snap["users"]["alice"][1] == frozenset({"employee"})
    assert snap["users"]["bob"][2] == "dave"


def test_no_default_credentials_outside_demo_mode(app, client):
    assert app.config["FORMWORK_DEMO"] is False
    seed_demo_org()
    assert all(u.password_hash is None for u in db.session.scalars(select(User)))
    token = client.get("/login").get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    response = client.post(
        "/login", data={"username": "admin", "password": DEMO_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 200  # refused, the form again


def test_demo_mode_gives_the_demo_password(app):
    app.config["FORMWORK_DEMO"] = True
    users = seed_demo_org()
    assert all(u.check_password(DEMO_PASSWORD) for u in users.values())


def test_demo_cli(app, runner):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "no passwords were set" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == len(CONTRACT_USERS)
    assert all(u.password_hash is None for u in db.session.scalars(select(User)))

    result = runner.invoke(args=["demo", "seed", "--demo-passwords"])
    assert result.exit_code == 0 and DEMO_PASSWORD in result.output
    db.session.expire_all()
    assert db.session.scalar(select(User).where(User.username == "ivan")).check_password(DEMO_PASSWORD)
    assert db.session.scalar(select(func.count()).select_from(User)) == len(CONTRACT_USERS)


def test_inconsistent_file_refused_and_nothing_stored(app, tmp_path):
    import pytest

    from formwork.demo import DemoDataError

    bad = tmp_path / "org.yaml"
    bad.write_text(
        "kind: organisation\n"
        "departments: [{code: HQ, name: {zh-CN: 总公司, en: HQ}}]\n"
        "roles: []\n"
        "users: [{username: x, name: X, department: NOPE}]\n",
        encoding="utf-8",
    )
    with pytest.raises(DemoDataError, match="unknown department NOPE"):
        seed_demo_org(path=bad)
    assert db.session.scalar(select(func.count()).select_from(Department)) == 0
