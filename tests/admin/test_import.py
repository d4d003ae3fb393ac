"""Bulk onboarding (``org.onboarding``): CSV and .xlsx files of departments, people, managers and
role grants; a dry run that names every bad row and writes nothing; all or nothing; export and
round trip; a delegated administrator's reach; the API, the page and the command line.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from flask_babel import force_locale
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from formwork.audit.models import AuditEntry
from formwork.extensions import db, transaction
from formwork.org import onboarding, users
from formwork.org.models import Department, RoleAssignment, User
from formwork.org.onboarding import writing
from formwork.org.users import user_by_username

DEPARTMENTS_CSV = (
    "code,name_zh,name_en,parent,head\nSALES-E,华东销售,Sales East,SALES,\nSALES-E1,上海,Shanghai,SALES-E,\n"
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


@pytest.fixture(autouse=True)
def english(app):
    """Messages of direct calls in English too (outside a request the default locale is Chinese)."""
    with force_locale("en"):
        yield


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _user(name: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == name))


def _apply(actor, data: bytes, name: str):
    plan = onboarding.apply(actor, data, name)
    db.session.commit()
    return plan


def test_zip_of_csv_creates_departments_people_and_managers_in_any_order(demo_org):
    data = _zip(
        departments=DEPARTMENTS_CSV, users=USERS_CSV, grants="username,role,department\nyan,employee,\n"
    )
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
    data = (
        "\ufeff"
        "username,display_name,email,department,manager,active\r\n"
        "alice,Alice Wang,a@example.com,SALES,bob,yes\r\n"
    ).encode()
    plan = _apply(demo_org["admin"], data, "users.csv")
    assert plan.ok, plan.problems
    [change] = plan.changed()
    assert change.action == "update" and change.fields["display_name"][1] == "Alice Wang"
    assert _user("alice").display_name == "Alice Wang"


def test_not_utf8_is_a_clear_error(demo_org):
    data = "username,display_name\nzoe,张三\n".encode("gbk")
    with pytest.raises(onboarding.FileRefused, match="GBK.*line 2.*CSV UTF-8"):
        onboarding.preview(demo_org["admin"], data, "users.csv")
    with pytest.raises(onboarding.FileRefused, match="not UTF-8 text"):
        onboarding.preview(demo_org["admin"], b"username,display_name\nzoe,\xff\xff\n", "users.csv")


BAD_USERS = (
    "username,display_name,email,department,manager,active\n"
    "Zoe,Zoe,not-an-email,NOPE,ghost,yes\n"  # 2: bad email, unknown department and manager
    ",No Name,,SALES,,\n"  # 3: user name missing
    "zoe,Zoe again,,SALES,,\n"  # 4: a repeat of line 2
    "yan,Y\x00an,,SALES,,\n"  # 5: NUL
    f"kim,{'K' * 201},,SALES,,\n"  # 6: too long
    "lee,Lee,,SALES,lee,\n"  # 7: own manager
    "amy,Amy,,SALES,ben,\n"  # 8 and 9: a circle of managers
    "ben,Ben,,SALES,amy,\n"
    "alice,Alice,,SALES,bob,no\n"  # 10: leaving is recorded on the person's page
    "max,Max,,SALES,,maybe\n"  # 11: neither yes nor no
)


def test_dry_run_names_every_bad_row_and_writes_nothing(demo_org):
    before = (_count(User), _count(Department), _count(RoleAssignment), _count(AuditEntry))
    data = _zip(
        users=BAD_USERS,
        departments="code,name_zh,name_en,parent,head\nA,甲,A,B,\nB,乙,B,A,\nC D,丙,C,,\n",
        grants="username,role,department\nbob,no_such_role,\nghost,employee,\nbob,employee,NOPE\n",
    )
    plan = onboarding.preview(demo_org["admin"], data, "bad.zip")
    found = {(p.section, p.line, p.column) for p in plan.problems}
    assert {
        ("users", 2, "email"),
        ("users", 2, "department"),
        ("users", 2, "manager"),
        ("users", 3, "username"),
        ("users", 4, "username"),
        ("users", 5, "display_name"),
        ("users", 6, "display_name"),
        ("users", 7, "manager"),
        ("users", 8, "manager"),
        ("users", 9, "manager"),
        ("users", 10, "active"),
        ("users", 11, "active"),
        ("departments", 2, "parent"),
        ("departments", 3, "parent"),
        ("departments", 4, "code"),
        ("grants", 2, "role"),
        ("grants", 3, "username"),
        ("grants", 4, "department"),
    } <= found, sorted(found)
    messages = {(p.section, p.line, p.column): p.message for p in plan.problems}
    assert "line 2" in messages[("users", 4, "username")]
    assert "circle" in messages[("users", 8, "manager")]
    assert "control character" in messages[("users", 5, "display_name")]
    # Applying the same file writes nothing either.
    plan = _apply(demo_org["admin"], data, "bad.zip")
    assert not plan.ok
    assert (_count(User), _count(Department), _count(RoleAssignment), _count(AuditEntry)) == before


def test_xlsx_sheets_numbers_formulas_and_unknown_columns(demo_org):
    data = _xlsx(
        {
            "departments": [
                ["code", "name_zh", "name_en", "parent", "head"],
                [1001, "一号", "One", "SALES", None],
            ],
            "users": [
                ["username", "display_name", "email", "department", "manager", "active", "colour"],
                ["zoe", "=1+1", None, "1001", None, None, None],
            ],
            "README": [["anything here is ignored"]],
        }
    )
    plan = onboarding.preview(demo_org["admin"], data, "org.xlsx")
    found = {(p.section, p.line, p.column) for p in plan.problems}
    assert ("users", 1, "colour") in found  # unknown column, named on the header line
    assert ("users", 2, "B") in found  # a formula
    ok = _xlsx(
        {
            "部门": [["code", "name_zh", "name_en", "parent", "head"], [1001, "一号", "One", "SALES", "zoe"]],
            "users": [["username", "display_name", "department"], ["zoe", "Zoe", 1001]],
        }
    )
    plan = _apply(demo_org["admin"], ok, "org.xlsx")
    assert plan.ok, plan.problems
    assert _user("zoe").department.code == "1001"
    assert db.session.scalar(select(Department).where(Department.code == "1001")).head.username == "zoe"


def test_all_or_nothing_when_writing_fails_half_way(demo_org, monkeypatch):
    data = _zip(
        departments=DEPARTMENTS_CSV, users=USERS_CSV, grants="username,role,department\nyan,employee,\n"
    )
    real = writing._audit

    def broken(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(writing, "_audit", broken)
    before = (_count(User), _count(Department), _count(RoleAssignment))
    with pytest.raises(RuntimeError):
        with transaction():
            onboarding.apply(demo_org["admin"], data, "org.zip")
    assert (_count(User), _count(Department), _count(RoleAssignment)) == before
    assert _user("zoe") is None


def test_stale_token_is_refused(demo_org):
    with pytest.raises(onboarding.Stale):
        onboarding.apply(demo_org["admin"], b"username,display_name\nzoe,Zoe\n", "users.csv", "0" * 64)


def test_round_trip_export_then_import_changes_nothing(demo_org):
    _apply(
        demo_org["admin"],
        _zip(
            departments=DEPARTMENTS_CSV, users=USERS_CSV, grants="username,role,department\nzoe,employee,\n"
        ),
        "org.zip",
    )
    with transaction():
        users.leave(_user("zoe"))  # a leaver and their grant export and import unchanged
    _user("zoe").display_name = '=HYPERLINK("http://evil")'  # exported as text, never a formula
    db.session.commit()
    for fmt, name in (("xlsx", "org.xlsx"), ("csv", "org.zip")):
        exported = onboarding.export(demo_org["admin"], fmt)
        plan = onboarding.preview(demo_org["admin"], exported.data, name)
        assert plan.ok, plan.problems
        assert not plan.changed(), plan.changed()
        assert plan.counts()["users"]["unchanged"] == _count(User)
    book = load_workbook(io.BytesIO(onboarding.export(demo_org["admin"], "xlsx").data))
    cells = [row for row in book["users"].iter_rows(values_only=True) if row[0] == "zoe"]
    assert cells[0][1].startswith("'=")
    with zipfile.ZipFile(io.BytesIO(onboarding.export(demo_org["admin"], "csv").data)) as archive:
        text = archive.read("users.csv").decode("utf-8")
    assert text.startswith("\ufeff") and "'=HYPERLINK" in text


def test_delegated_administrator_reaches_their_departments_only(demo_org):
    sara = demo_org["sara"]
    data = _zip(
        users=(
            "username,display_name,email,department,manager,active\n"
            "zoe,Zoe,,SALES,bob,\n"  # fine: Sales is hers
            "carol,Carol,,FIN,dave,\n"  # Finance is not: as if carol did not exist
            "yan,Yan,,FIN,,\n"  # nor may she place anyone there
            "kim,Kim,,,,\n"  # and someone without a department is the whole organisation's
        ),
        grants="username,role,department\nzoe,employee,\nzoe,employee,SALES\n",
    )
    plan = onboarding.preview(sara, data, "org.zip")
    found = {(p.section, p.line, p.column): p.message for p in plan.problems}
    assert set(found) == {
        ("users", 3, "username"),
        ("users", 4, "department"),
        ("users", 5, "department"),
        ("grants", 2, "department"),
    }, found
    assert found[("users", 3, "username")] == "No such person: carol."
    exported = onboarding.export(sara, "xlsx")
    book = load_workbook(io.BytesIO(exported.data))
    people = {row[0] for row in book["users"].iter_rows(min_row=2, values_only=True)}
    assert "alice" in people and "carol" not in people and "dave" not in people
    plan = onboarding.preview(sara, exported.data, "org.xlsx")
    assert plan.ok and not plan.changed(), (plan.problems, plan.changed())


def test_import_is_audited(demo_org):
    before = _count(AuditEntry)
    _apply(demo_org["admin"], _zip(departments=DEPARTMENTS_CSV, users=USERS_CSV), "org.zip")
    actions = [a for (a,) in db.session.execute(select(AuditEntry.action).order_by(AuditEntry.id))][before:]
    assert actions.count("user.create") == 2 and actions.count("department.create") == 2
    assert actions[-1] == "org.import"
    _apply(demo_org["admin"], b"username,display_name\nalice,Alice W.\n", "users.csv")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.change"))
    assert "Alice W." in entry.details and "display_name" in entry.details


# ---- API, page and command line ----------------------------------------------------------------


def test_api_dry_run_then_import_with_token(client, demo_org, bearer):
    headers = bearer("admin")
    data = _zip(departments=DEPARTMENTS_CSV, users=USERS_CSV)

    def post(query: str, content: bytes = data):
        return client.post(
            f"/api/admin/import{query}",
            data={"file": (io.BytesIO(content), "org.zip")},
            headers=headers,
            content_type="multipart/form-data",
        )

    checked = post("?dry_run=1")
    assert checked.status_code == 200, checked.get_json()
    body = checked.get_json()
    assert body["ok"] and not body["applied"] and body["counts"]["users"]["create"] == 2
    assert _user("zoe") is None
    assert post("?token=" + "0" * 64).status_code == 409
    done = post(f"?token={body['token']}")
    assert done.status_code == 200 and done.get_json()["applied"]
    assert _user("zoe") is not None
    again = post(f"?token={body['token']}").get_json()  # a repeated request changes nothing
    assert again["changes_total"] == 0
    bad = post("?dry_run=1", _zip(users=BAD_USERS))
    assert bad.status_code == 422
    problems = bad.get_json()["problems"]
    assert {"section": "users", "line": 2, "column": "email"} in [
        {k: p[k] for k in ("section", "line", "column")} for p in problems
    ]
    assert post("?dry_run=1", b"\xff\xfe\x00garbage").status_code == 422
    exported = client.get("/api/admin/export?format=csv", headers=headers)
    assert exported.status_code == 200 and exported.mimetype == "application/zip"
    assert client.get("/api/admin/export?format=pdf", headers=headers).status_code == 400


def test_api_is_404_for_someone_who_administers_nothing(client, demo_org, bearer):
    headers = bearer("alice")
    response = client.post(
        "/api/admin/import?dry_run=1",
        data={"file": (io.BytesIO(USERS_CSV.encode()), "users.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 404
    assert client.get("/api/admin/export", headers=headers).status_code == 404


def test_page_check_lists_bad_rows_then_confirm_imports(client, demo_org, login, csrf_token):
    login(client, "admin")
    token = csrf_token(client, "/admin/import")
    page = client.post(
        "/admin/import",
        data={"csrf_token": token, "file": (io.BytesIO(BAD_USERS.encode()), "users.csv")},
        content_type="multipart/form-data",
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and 'id="import-problems"' in html and "import-confirm" not in html
    assert "Enter an e-mail address" in html
    page = client.post(
        "/admin/import",
        data={
            "csrf_token": token,
            "file": (
                io.BytesIO(USERS_CSV.replace("SALES-E1", "SALES").replace("SALES-E,", "SALES,").encode()),
                "users.csv",
            ),
        },
        content_type="multipart/form-data",
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "import-confirm" in html and _user("zoe") is None
    inline = html.split('name="data" value="')[1].split('"')[0]
    plan_token = html.split('name="token" value="')[1].split('"')[0]
    form = {"csrf_token": token, "token": plan_token, "name": "users.csv", "data": inline}
    assert client.post("/admin/import/apply", data={**form, "csrf_token": "x"}).status_code == 400
    assert _user("zoe") is None
    done = client.post("/admin/import/apply", data=form, content_type="multipart/form-data")
    assert done.status_code == 303
    assert _user("zoe") is not None and _user("yan").manager.username == "bob"
    twice = client.post("/admin/import/apply", data=form, content_type="multipart/form-data")  # double click
    assert twice.status_code == 303 and _count(User) == len(demo_org) + 2
    assert client.get("/admin/import/template.xlsx").status_code == 200
    assert client.get("/admin/export?format=xlsx").status_code == 200


def test_page_is_404_outside_administration(client, demo_org, login):
    login(client, "alice")
    assert client.get("/admin/import").status_code == 404
    assert client.get("/admin/export").status_code == 404


def test_cli_dry_run_and_import(runner, demo_org, tmp_path):
    path = tmp_path / "org.zip"
    path.write_bytes(_zip(departments=DEPARTMENTS_CSV, users=USERS_CSV))
    result = runner.invoke(args=["users", "import", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would import" in result.output and user_by_username("zoe") is None
    result = runner.invoke(args=["users", "import", str(path), "--as", "admin"])
    assert result.exit_code == 0, result.output
    assert user_by_username("zoe") is not None
    bad = tmp_path / "users.csv"
    bad.write_text(BAD_USERS)
    result = runner.invoke(args=["users", "import", str(bad)])
    assert result.exit_code == 1 and "users, line 2, email" in result.output
    out = tmp_path / "export.xlsx"
    result = runner.invoke(args=["users", "export", str(out), "--as", "sara"])
    assert result.exit_code == 0 and out.read_bytes()[:2] == b"PK"


def test_a_new_head_takes_over_the_old_heads_waiting_tasks(demo_org, monkeypatch):
    from formwork.org import administration

    calls = []
    monkeypatch.setitem(
        administration._HEAD_HOOKS,
        "test",
        lambda department, old, new, actor: calls.append((department.code, old.username, new.username)),
    )
    data = "code,name_zh,name_en,parent,head\nSALES,销售部,Sales,HQ,alice\n".encode()
    plan = _apply(demo_org["admin"], data, "departments.csv")
    assert plan.ok, plan.problems
    assert calls == [("SALES", "bob", "alice")]
    assert db.session.scalar(select(Department).where(Department.code == "SALES")).head.username == "alice"


def test_delegated_administrator_cannot_add_top_level_departments_or_move_their_own(demo_org):
    data = (
        "code,name_zh,name_en,parent,head\n"
        "TOP,顶层,Top,,\n"  # 2: no parent: the whole organisation's
        "SALES,销售部,Sales,FIN,bob\n"  # 3: her own top department, moved elsewhere
        "SALES-W,华西,Sales West,SALES,\n"  # 4: fine
    ).encode()
    plan = onboarding.preview(demo_org["sara"], data, "departments.csv")
    found = {(p.line, p.column) for p in plan.problems}
    assert (2, "parent") in found and (3, "parent") in found and not any(line == 4 for line, _ in found)


def test_csv_line_numbers_follow_the_file_and_odd_files_are_refused(demo_org):
    data = (
        "username,display_name,email\n"
        'zoe,"Zoe\nZhang",\n'  # lines 2-3: a line break inside a quoted cell
        "yan,Yan,bad\n"  # line 4
    ).encode()
    plan = onboarding.preview(demo_org["admin"], data, "users.csv")
    found = {(p.line, p.column) for p in plan.problems}
    assert found == {(2, "display_name"), (4, "email")}
    with pytest.raises(onboarding.FileRefused):
        onboarding.preview(demo_org["admin"], b"%PDF-1.4", "scan.pdf")
    with pytest.raises(onboarding.FileRefused):
        onboarding.preview(demo_org["admin"], b"PK\x03\x04broken", "org.xlsx")
    with pytest.raises(onboarding.FileRefused):
        onboarding.preview(demo_org["admin"], b"a,b\n1,2\n", "notes.csv")


def test_the_page_in_chinese(client, demo_org, login, csrf_token):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    login(client, "admin")
    token = csrf_token(client, "/admin/import")
    html = client.get("/admin/import").get_data(as_text=True)
    assert "导入与导出" in html and "下载模板" in html
    page = client.post(
        "/admin/import",
        data={"csrf_token": token, "file": (io.BytesIO(BAD_USERS.encode()), "users.csv")},
        content_type="multipart/form-data",
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and "请填写 yes 或 no。" in html


def test_a_column_left_out_keeps_what_is_there(demo_org):
    plan = _apply(demo_org["admin"], b"username,display_name\nalice,Alice W.\n", "users.csv")
    assert plan.ok, plan.problems
    [change] = plan.changed()
    assert set(change.fields) == {"display_name"}
    alice = _user("alice")
    assert alice.department.code == "SALES" and alice.manager.username == "bob"
    plan = _apply(demo_org["admin"], b"username,display_name,department\nalice,Alice W.,\n", "users.csv")
    assert plan.changed()[0].fields == {"department": ("SALES", "")}  # an empty cell: none


def test_the_template_has_the_three_sheets_and_imports_as_nothing(demo_org):
    found = onboarding.template()
    book = load_workbook(io.BytesIO(found.data))
    assert book.sheetnames == ["departments", "users", "grants", "README"]
    assert [c.value for c in next(book["users"].iter_rows())] == [
        "username",
        "display_name",
        "email",
        "department",
        "manager",
        "active",
    ]
    assert "employee" in " ".join(str(row[0]) for row in book["README"].iter_rows(values_only=True))
    plan = onboarding.preview(demo_org["admin"], found.data, found.filename)
    assert plan.ok and not plan.changes


def test_a_name_with_a_control_character_exports_without_it(demo_org):
    # Names typed through the API may hold characters a worksheet cannot: the export leaves them out.
    _user("alice").display_name = "Alice\x01 Wang"
    db.session.commit()
    exported = onboarding.export(demo_org["admin"], "xlsx")
    sheet = load_workbook(io.BytesIO(exported.data))["users"]
    names = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "Alice Wang" in names
