"""Bulk onboarding (``org.onboarding``): CSV and .xlsx files of departments, people, managers and
role grants; a dry run that names every bad row and writes nothing; all or nothing; export and
round trip; a delegated administrator's reach; the API, the page and the command line.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from formwork.audit.models import AuditEntry
from formwork.extensions import db
from formwork.org import onboarding
from formwork.org.models import Department, RoleAssignment, User
from formwork.org.onboarding import apply as writing

DEPARTMENTS_CSV = (
    "code,name_zh,name_en,parent,head\n"
    "SALES-E,华东销售,Sales East,SALES,\n"
    "SALES-E1,上海,Shanghai,SALES-E,\n"
)
USERS_CSV = (
    "username,display_name,email,department,manager,active\n"
    "zoe,Zoe Zhang,zoe@example.com,SALES-E1,yan,yes\n"  # her manager is on the next line
    "yan,严明,yan@example.com,SALES-E,bob,\n"
)


def _zip(**files: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in files.items():
            archive.writestr(f"{name}.csv", text)
    return out.getvalue()


def _xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _user(name: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == name))


def _apply(actor, data: bytes, name: str):
    plan = onboarding.apply(actor, data, name)
    db.session.commit()
    return plan


def test_zip_of_csv_creates_departments_people_and_managers_in_any_order(demo_org):
    data = _zip(departments=DEPARTMENTS_CSV, users=USERS_CSV, grants="username,role,department\nyan,employee,\n")
    plan = onboarding.preview(demo_org["admin"], data, "org.zip")
    assert plan.ok, plan.problems
    assert plan.counts()["users"]["create"] == 2 and plan.counts()["departments"]["create"] == 2
    assert _user("zoe") is None  # a dry run writes nothing
    plan = _apply(demo_org["admin"], data, "org.zip")
    zoe, yan = _user("zoe"), _user("yan")
    assert zoe.manager.username == "yan" and yan.manager.username == "bob"
    assert zoe.department.code == "SALES-E1" and zoe.department.parent.code == "SALES-E"
    assert zoe.password_hash is None  # never a default password
    assert yan.role_keys() == {"employee"}
    assert "zhang" in zoe.search_key or "zoe" in zoe.search_key
    again = _apply(demo_org["admin"], data, "org.zip")
    assert again.ok and not again.changed()  # importing the same file twice changes nothing


def test_csv_with_byte_order_mark_and_update(demo_org):
    data = ("\ufeff" + "username,display_name,email,department,manager,active\r\nalice,Alice Wang,a@example.com,SALES,bob,yes\r\n").encode()
    plan = _apply(demo_org["admin"], data, "users.csv")
    assert plan.ok, plan.problems
    [change] = plan.changed()
    assert change.action == "update" and change.fields["display_name"][1] == "Alice Wang"
    assert _user("alice").display_name == "Alice Wang"


def test_not_utf8_is_a_clear_error(demo_org):
    data = "username,display_name\nzoe,张三\n".encode("gbk")
    with pytest.raises(onboarding.FileRefused, match="UTF-8"):
        onboarding.preview(demo_org["admin"], data, "users.csv")
