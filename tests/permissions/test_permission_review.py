"""The permission review report: its lines follow the published definitions and routes (employee own,
department head department tree, administrator all, masked fields, approve through route steps), a
delegated administrator sees only their scope, and the CSV, .xlsx, API and page agree."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from formwork.audit.models import AuditEntry
from formwork.extensions import db
from formwork.org.models import User
from formwork.permissions import review


def _id(name: str) -> int:
    return db.session.scalar(select(User.id).where(User.username == name))


def _lines(name: str, form: str = "expense_claim") -> list[review.ReviewRow]:
    return review.review([_id(name)], [form]).rows


def _ops(rows, operation):
    return [r for r in rows if r.operation == operation]


def test_an_employee_sees_and_edits_own_records_only(enforced):
    rows = _lines("alice")
    views = _ops(rows, "view")
    assert {r.scope for r in views} == {"own"}
    assert views[0].role == "everyone" and views[0].assignment_id is None
    assert "all_forms" in views[0].source
    assert not _ops(rows, "export") and not _ops(rows, "approve") and not _ops(rows, "administer")
    # The payee account is masked for everyone.
    masked = _ops(rows, "mask")
    assert masked and "payee_account" in masked[0].detail


def test_a_department_head_sees_the_department_tree_and_approves_the_head_step(enforced):
    rows = _lines("bob")
    assert any(
        r.scope.startswith("department_tree of SALES") and r.role == "department_head"
        for r in _ops(rows, "view")
    )
    approves = _ops(rows, "approve")
    assert [r.detail.split(" ")[0] for r in approves] == ["department_head"]


def test_an_administrator_sees_everything_with_the_grant_behind_it(enforced):
    rows = _lines("admin")
    admin_views = [r for r in _ops(rows, "view") if r.role == "administrator"]
    assert admin_views and admin_views[0].scope == "all"
    assert admin_views[0].assignment_id is not None and admin_views[0].granted_at is not None
    assert _ops(rows, "export") and _ops(rows, "administer")


def test_finance_reviewer_approves_through_the_route_and_reads_the_account(enforced):
    rows = _lines("carol")
    steps = {r.detail.split(" ")[0] for r in _ops(rows, "approve")}
    assert {"finance_review", "department_head"} <= steps
    assert any(r.role == "finance_reviewer" and r.scope.startswith("all") for r in _ops(rows, "export"))
    # Finance reviewers read the payee account: no masking through that grant (the rule for them wins).
    assert not [r for r in _ops(rows, "mask") if r.role == "finance_reviewer"]


def test_masking_follows_the_rules_per_grant(enforced):
    admin_masks = [r for r in _ops(_lines("admin"), "mask") if r.role == "administrator"]
    assert [r.detail for r in admin_masks] == ["payee_account"]
    assert "expense_claim version 1, /field_rules/0" in admin_masks[0].source
    assert not _ops(_lines("alice", "purchase_request"), "mask")


def test_conflicts_are_rendered_when_given(enforced):
    ids = [_id("carol"), _id("alice")]
    found = review.conflict_rows([("Reviewer who pays", ["finance_reviewer", "employee"])], ids)
    assert found == []
    found = review.conflict_rows([("Admin and analyst", ["administrator", "analyst"])], [_id("admin")])
    assert found and found[0].username == "admin"
    assert review.review([_id("admin")], ["expense_claim"], conflicts=found).conflicts == found


@pytest.fixture
def signed_in(client, login):
    def sign_in(name: str):
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        login(client, name)
        return client

    return sign_in


def test_the_page_by_form_and_by_person(enforced, signed_in):
    client = signed_in("admin")
    page = client.get("/admin/permission-review?form=expense_claim&q=carol")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "finance_review" in text and "carol" in text and "alice" not in text
    one = client.get(f"/admin/permission-review?user={_id('bob')}")
    assert "department_tree of SALES" in one.get_data(as_text=True)
    assert client.get("/admin/permission-review?form=nope").status_code == 422
    assert client.get("/admin/permission-review?user=99999999999").status_code == 422
    assert client.get("/admin/permission-review?q=a%00b").status_code in (400, 422)  # refused, never a 500
    assert client.get("/admin/users").get_data(as_text=True).count("/admin/permission-review") >= 1
    partial = client.get(
        "/admin/permission-review?q=bob", headers={"HX-Request": "true", "HX-Target": "admin-results"}
    )
    assert "<h1>" not in partial.get_data(as_text=True)


def test_a_delegated_administrator_sees_only_their_department(enforced, signed_in):
    client = signed_in("sara")
    text = client.get("/admin/permission-review").get_data(as_text=True)
    assert "alice" in text and "carol" not in text
    assert client.get(f"/admin/permission-review?user={_id('carol')}").status_code == 404
    assert client.get(f"/api/permissions/review?user={_id('carol')}").status_code == 404
    assert client.get(f"/admin/permission-review/export?user={_id('carol')}").status_code == 404
    body = client.get("/admin/permission-review/export?format=csv").get_data(as_text=True)
    assert "alice" in body and "carol" not in body


def test_an_employee_gets_404(enforced, signed_in):
    client = signed_in("alice")
    assert client.get("/admin/permission-review").status_code == 404
    assert client.get("/api/permissions/review").status_code == 404
    assert client.get("/admin/permission-review/export").status_code == 404


def test_csv_and_xlsx_hold_the_lines_and_the_export_is_audited(enforced, signed_in):
    client = signed_in("admin")
    answer = client.get("/admin/permission-review/export?format=csv&form=expense_claim&q=carol")
    assert answer.status_code == 200 and "text/csv" in answer.content_type
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "Person"
    approve = [r for r in rows[1:] if r[2] == "approve"]
    assert any(r[0] == "carol" and r[4].startswith("finance_review") for r in approve)
    grants = [r for r in rows[1:] if r[5] == "finance_reviewer"]
    assert grants and grants[0][6].isdigit()
    book = client.get("/admin/permission-review/export?format=xlsx&form=expense_claim&q=carol")
    assert book.status_code == 200
    sheet = load_workbook(io.BytesIO(book.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert len(values) == len(rows)
    assert [v[2] for v in values[1:]] == [r[2] for r in rows[1:]]
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "permission_review.export").order_by(AuditEntry.id)
    ).all()
    assert [e.actor_label for e in entries] == ["admin", "admin"]
    assert '"xlsx"' in entries[-1].details
    assert client.get("/admin/permission-review/export?format=pdf").status_code == 422


def test_the_api(enforced, signed_in):
    client = signed_in("admin")
    answer = client.get(f"/api/permissions/review?user={_id('alice')}&form=expense_claim")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["total"] == 1
    assert {i["operation"] for i in body["items"]} >= {"view", "mask", "edit", "print"}
    assert all(i["username"] == "alice" for i in body["items"])
    only = client.get("/api/permissions/review?operation=approve&form=expense_claim").get_json()
    assert only["items"] and {i["operation"] for i in only["items"]} == {"approve"}
    assert client.get("/api/permissions/review?form=nope").status_code == 422
    export = client.get("/api/permissions/review/export?format=xlsx")
    assert export.status_code == 200


def test_the_page_in_chinese(enforced, client, login):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    login(client, "admin")
    text = client.get("/admin/permission-review?form=expense_claim&q=alice").get_data(as_text=True)
    assert "权限审查" in text and "导出 CSV" in text and "字段或步骤" in text
    assert 'class="table-wrap"' in text  # the wide table scrolls on its own on a phone


def test_declared_conflicts_are_listed(enforced, signed_in):
    from formwork.org.models import Role, RoleAssignment

    reviewer = db.session.scalar(select(Role).where(Role.key == "finance_reviewer"))
    db.session.add(RoleAssignment(user_id=_id("grace"), role_id=reviewer.id))
    db.session.commit()
    client = signed_in("admin")
    body = client.get("/api/permissions/review?q=grace").get_json()
    assert [(c["username"], sorted(c["roles"])) for c in body["conflicts"]] == [
        ("grace", ["cashier", "finance_reviewer"])
    ]
    assert "Segregation of duties conflicts" in client.get("/admin/permission-review?q=grace").get_data(
        as_text=True
    )
    assert client.get("/api/permissions/review?q=alice").get_json()["conflicts"] == []
