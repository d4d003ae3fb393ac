"""Exports obey the permission definitions: the export right, the data scope, each record's fields.

Demo users × the export of expense claims and purchase requests (API and page), CSV and .xlsx:
rows exactly the records the person may export, hidden fields empty, masked ones masked per
record, no export right → 403; CSV and workbook readable, money exact (numbers in the
workbook), formula-like text prefixed, line items as rows, the workbook's row limit.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from permissions_samples import CLAIMS, DEFINITIONS, DEMO_POLICIES, DRAFTS, EXPECTED_VIEW, threshold_backend

from formwork.definitions import store
from formwork.definitions.loader import read_source
from formwork.definitions.models import DefinitionVersion
from formwork.extensions import db
from formwork.permissions.scopes import use_custom_filter_backend

ACCOUNT = "6225020200115678"
MASKED = "6225********5678"
EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}
LINES = [
    {"date": "2026-05-01", "type": "meals", "amount": "1234567.89", "invoice_no": "12345678"},
    {"date": "2026-05-02", "type": "hotel", "amount": "0.10"},
]
INJECTED = '=HYPERLINK("http://evil.example","x")'


def _store(content):
    content = store.json_ready(content)
    db.session.add(
        DefinitionVersion(
            kind="permission",
            key=content["key"],
            version=1,
            content=content,
            checksum=store.checksum(content),
            source=f"definitions/permissions/{content['key']}.yaml",
        )
    )
    db.session.commit()


def _publish(seeded, registry, *, claims_policy):
    store.publish_path(DEFINITIONS / "forms", registry=registry)
    store.publish_path(DEFINITIONS / "routes", registry=registry)
    for name, record in seeded.items():
        if record.form_key == "expense_claim":
            data = dict(record.data)
            data.update(payee_bank="ICBC", lines=LINES, total="1234567.99")
            if name == "ec_frank_review":
                data["reason"] = INJECTED
            record.data = data
        record.search_text = " ".join(str(v) for v in (record.data or {}).values())
    db.session.commit()
    for name in DEMO_POLICIES:
        content = read_source(DEFINITIONS / "permissions" / f"{name}.yaml").content
        _store(claims_policy(content) if name == "expense_claim" else content)
    use_custom_filter_backend(threshold_backend)


@pytest.fixture
def demo(demo_org, registry, seeded):
    """The demo definitions as they are: finance reviewers (carol) and administrators export claims."""
    _publish(seeded, registry, claims_policy=lambda content: content)
    yield seeded
    use_custom_filter_backend(None)


def _hr_exports(content):
    """The demo claims policy, but HR may export what it sees, and the payee's bank is hidden from
    everyone except finance reviewers and the claimant."""
    content = dict(content)
    grants = [dict(g) for g in content["grants"]]
    for grant in grants:
        if grant.get("department") == "HR":
            grant["operations"] = ["view", "export"]
    content["grants"] = grants
    content["field_rules"] = [
        *content["field_rules"],
        {"fields": ["payee_bank"], "roles": ["everyone"], "right": "hidden"},
        {"fields": ["payee_bank"], "roles": ["finance_reviewer", "owner"], "right": "read"},
    ]
    return content


@pytest.fixture
def hr(demo_org, registry, seeded):
    _publish(seeded, registry, claims_policy=_hr_exports)
    yield seeded
    use_custom_filter_backend(None)


def _csv(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment;" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    return table[0], [dict(zip(table[0], row, strict=True)) for row in table[1:]]


def _export(client, headers, **params):
    response = client.get("/api/records/export", query_string=params, headers={**EN, **headers})
    response.get_data()  # a streamed body is read while its request is the current one
    return response


@pytest.mark.parametrize("username", sorted(EXPECTED_VIEW))
def test_only_holders_of_the_export_right_export_and_only_what_it_reaches(demo, client, bearer, username):
    headers = bearer(username)
    claims = _export(client, headers, form="expense_claim")
    requests = _export(client, headers, form="purchase_request")
    if username == "admin":
        expected_claims = CLAIMS
    elif username == "carol":  # finance reviewer: every claim but drafts
        expected_claims = CLAIMS - DRAFTS
    else:
        assert claims.status_code == 403, username
        assert requests.status_code == 403, username
        assert "export" in claims.get_json()["error"]
        return
    _, rows = _csv(claims)
    assert {row["Title"] for row in rows} == expected_claims
    assert expected_claims <= EXPECTED_VIEW[username]  # never more than the person sees
    for row in rows:
        assert row["Payee bank account"] == ACCOUNT  # finance reviewers and administrators read it in full
    if username == "admin":
        _, rows = _csv(requests)
        assert {row["Title"] for row in rows} == {n for n in EXPECTED_VIEW["admin"] if n.startswith("pr_")}
    else:
        assert requests.status_code == 403  # finance reviewers have no export right on purchases


def test_masked_and_hidden_fields_follow_each_records_rights(hr, client, bearer):
    # erin (HR) may export every claim HR sees; payee account masked and bank hidden, except her own
    header, rows = _csv(_export(client, bearer("erin"), form="expense_claim"))
    expected = {n for n in EXPECTED_VIEW["erin"] if n.startswith("ec_")}
    assert {row["Title"] for row in rows} == expected
    assert "Payee bank" in header
    for row in rows:
        own = row["Title"] == "ec_erin"
        assert row["Payee bank account"] == (ACCOUNT if own else MASKED), row["Title"]
        assert row["Payee bank"] == ("ICBC" if own else ""), row["Title"]
    # carol still reads the bank (finance reviewer)
    _, rows = _csv(_export(client, bearer("carol"), form="expense_claim"))
    assert {row["Payee bank"] for row in rows} == {"ICBC"}


def test_masked_values_stay_masked_in_the_workbook(hr, client, bearer):
    response = _export(client, bearer("erin"), form="expense_claim", format="xlsx")
    sheet = _sheet(response)
    header = [c.value for c in sheet[1]]
    values = {row[header.index("Title")]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert values["ec_grace"][header.index("Payee bank account")] == MASKED
    assert values["ec_grace"][header.index("Payee bank")] is None
    assert values["ec_erin"][header.index("Payee bank account")] == ACCOUNT


def test_the_list_filters_apply(demo, client, bearer):
    headers = bearer("carol")
    _, rows = _csv(_export(client, headers, form="expense_claim", status="approved"))
    assert {row["Title"] for row in rows} == {"ec_alice_approved", "ec_carol_approved", "ec_erin"}
    _, rows = _csv(_export(client, headers, form="expense_claim", q="ec_grace"))
    assert {row["Title"] for row in rows} == {"ec_grace"}


def test_csv_header_labels_numbers_and_injection(demo, client, bearer):
    header, rows = _csv(_export(client, bearer("carol"), form="expense_claim"))
    assert header[:6] == ["ID", "Number", "Title", "Status", "Submitter", "Department"]
    assert header[6].startswith("Submitted at (UTC")
    fields = header[7:]
    assert fields[:2] == ["Category", "Reason"] and "Expense lines" in fields and "Total" in fields
    frank = next(row for row in rows if row["Title"] == "ec_frank_review")
    assert frank["Reason"] == "'" + INJECTED  # never a formula
    assert frank["Total"] == "1234567.99"  # exact, as stored
    assert frank["Expense lines"] == "2"  # by default, the number of lines
    assert frank["Status"] == "In review"
    assert frank["Submitter"] and frank["Department"]
    zh_header, _ = _csv(_export(client, {**bearer("carol"), **ZH}, form="expense_claim"))
    assert zh_header[2:4] == ["标题", "状态"] and "报销总额" in zh_header and "银行账号" in zh_header


def test_line_items_as_rows(demo, client, bearer):
    header, rows = _csv(_export(client, bearer("carol"), form="expense_claim", lines="rows"))
    frank = [row for row in rows if row["Title"] == "ec_frank_review"]
    assert [row["Expense lines / Amount"] for row in frank] == ["1234567.89", "0.10"]
    assert [row["Expense lines / Type"] for row in frank] == ["Meals", "Hotel"]
    assert {row["Payee bank account"] for row in frank} == {ACCOUNT}  # record columns repeated
    assert "Expense lines" not in header


def _sheet(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    return load_workbook(io.BytesIO(response.get_data()), read_only=True).active


def test_xlsx_money_is_numeric_and_exact(demo, client, bearer):
    sheet = _sheet(_export(client, bearer("carol"), form="expense_claim", format="xlsx", lines="rows"))
    rows = list(sheet.iter_rows(values_only=False))
    header = [c.value for c in rows[0]]
    frank = [r for r in rows[1:] if r[header.index("Title")].value == "ec_frank_review"]
    amounts = [r[header.index("Expense lines / Amount")] for r in frank]
    assert [a.data_type for a in amounts] == ["n", "n"]
    assert amounts[0].number_format == "#,##0.00"
    assert Decimal(str(amounts[0].value)) == Decimal("1234567.89")
    assert Decimal(str(amounts[1].value)) == Decimal("0.10")
    assert frank[0][header.index("Reason")].value == "'" + INJECTED
    assert frank[0][header.index("Reason")].data_type == "s"
    assert frank[0][header.index("Expense lines / Date")].value.year == 2026


def test_xlsx_writes_the_stored_decimal_text(demo, client, bearer):
    from zipfile import ZipFile

    response = _export(client, bearer("carol"), form="expense_claim", format="xlsx", lines="rows")
    with ZipFile(io.BytesIO(response.get_data())) as book:
        xml = book.read("xl/worksheets/sheet1.xml").decode()
    assert "<v>1234567.89</v>" in xml and "<v>0.10</v>" in xml


def test_the_workbook_has_a_row_limit(demo, app, client, bearer):
    app.config["FORMWORK_EXPORT_XLSX_MAX_ROWS"] = 3
    response = _export(client, bearer("carol"), form="expense_claim", format="xlsx")
    assert response.status_code == 422
    assert "CSV" in response.get_json()["error"]
    response = _export(client, bearer("carol"), form="expense_claim", format="csv")  # streamed: no limit
    assert len(_csv(response)[1]) == len(CLAIMS - DRAFTS)


def test_bad_requests_are_clear(demo, client, bearer):
    headers = bearer("carol")
    assert _export(client, headers, form="no_such_form").status_code == 404
    assert _export(client, headers, form="expense_claim" + "x" * 200).status_code == 400  # maxLength
    assert _export(client, headers).status_code == 400  # form is required
    assert _export(client, headers, form="expense_claim", format="pdf").status_code == 400
    assert _export(client, headers, form="expense_claim", lines="sheet").status_code == 400
    assert client.get("/api/records/export?form=expense_claim").status_code == 401


def test_the_page_offers_the_export_to_holders_of_the_right(demo, client, login):
    login(client, "carol")
    page = client.get("/requests?scope=all&form=expense_claim", headers=EN).get_data(as_text=True)
    assert 'action="/records/export"' in page and "One row per line item" in page
    assert 'action="/records/export"' not in client.get("/requests?scope=all").get_data(as_text=True)
    response = client.get("/records/export?form=expense_claim&format=csv&status=approved", headers=EN)
    _, rows = _csv(response)
    assert {row["Title"] for row in rows} == {"ec_alice_approved", "ec_carol_approved", "ec_erin"}
    zh = client.get("/requests?scope=all&form=expense_claim", headers=ZH).get_data(as_text=True)
    assert "每个明细一行" in zh
    assert client.get("/records/export?form=purchase_request").status_code == 403
    assert client.get("/records/export?form=expense_claim&format=pdf").status_code == 422
    assert client.get("/records/export?form=expense_claim&status=paid").status_code == 422
    assert client.get("/records/export?form=expense_claim&lines=sheet").status_code == 422
    assert client.get("/records/export").status_code == 422
    long_key = "expense_claim" + "x" * 100 + '"\r\nX-Injected: 1'
    assert client.get("/records/export", query_string={"form": long_key}).status_code == 404


def test_the_page_hides_the_export_without_the_right(demo, client, login):
    login(client, "bob")
    page = client.get("/requests?scope=all&form=expense_claim").get_data(as_text=True)
    assert 'action="/records/export"' not in page
    assert client.get("/records/export?form=expense_claim").status_code == 403


def test_csv_is_streamed_in_chunks_by_id(demo, client, bearer, monkeypatch):
    from formwork.exports import records as exports

    monkeypatch.setattr(exports, "CHUNK", 2)  # several keyset pages over the demo records
    response = client.get("/api/records/export?form=expense_claim", headers={**EN, **bearer("admin")})
    assert response.is_streamed
    _, rows = _csv(response)
    assert [row["Title"] for row in rows] == sorted(
        CLAIMS, key=lambda name: next(r.id for n, r in demo.items() if n == name)
    )


def test_line_rows_count_against_the_workbook_limit(demo, app, client, bearer):
    app.config["FORMWORK_EXPORT_XLSX_MAX_ROWS"] = len(CLAIMS - DRAFTS)  # enough records, not lines
    assert _export(client, bearer("carol"), form="expense_claim", format="xlsx").status_code == 200
    response = _export(client, bearer("carol"), form="expense_claim", format="xlsx", lines="rows")
    assert response.status_code == 422


def test_each_export_is_logged(demo, client, bearer, caplog):
    caplog.set_level("INFO", logger="formwork.exports.records")
    _export(client, bearer("carol"), form="expense_claim", format="xlsx", status="approved")
    text = caplog.text
    assert "export of expense_claim as xlsx" in text and "carol" in text and "approved" in text
    assert "finished: 3 rows (xlsx)" in text


def test_cells_keep_their_types(app):
    from openpyxl import Workbook

    from formwork.exports.records import Column, _xlsx_cell

    sheet = Workbook().create_sheet("x")
    money = Column("m", kind="money")
    big = _xlsx_cell(sheet, money, Decimal("12345678901234567.01"))
    assert big == "12345678901234567.01"  # more digits than a spreadsheet keeps: exact text
    cell = _xlsx_cell(sheet, money, Decimal("-1E+3"))
    assert (cell.value, cell.data_type) == ("-1000", "n")
    assert _xlsx_cell(sheet, Column("n", kind="integer"), 7) == 7


@pytest.mark.parametrize("username", sorted(EXPECTED_VIEW))
def test_rights_read_together_are_the_rights_read_one_by_one(hr, username):
    from formwork.org.users import user_by_username
    from formwork.records import access

    user = user_by_username(username)
    records = list(hr.values())
    together = access.rights_of_many(user, records)
    for record in records:
        alone = access.rights_of(user, record)
        if alone is None:
            assert together[record.id] is None
            continue
        assert together[record.id].visible == alone.visible, record.title
        assert together[record.id].redact(record.data) == alone.redact(record.data), record.title


def test_a_record_saved_through_the_service_exports_its_computed_values(demo, client, bearer):
    from formwork.org.users import user_by_username
    from formwork.workflow import submission

    data = {
        "category": "other",
        "reason": "+SUM(A1:A9)",
        "lines": [{"date": "2026-05-03", "type": "transport", "amount": "0.1"}, LINES[1]],
        "payee_name": "@alice",
        "payee_bank": "ICBC",
        "payee_account": ACCOUNT,
    }
    record = submission.create_record("expense_claim", data, user_by_username("alice"), submit=False)
    db.session.commit()
    _, rows = _csv(_export(client, bearer("admin"), form="expense_claim", q="SUM(A1"))
    (row,) = rows
    assert row["ID"] == str(record.id)
    assert row["Total"] == "0.20" and row["Category"] == "Other" and row["Status"] == "Draft"
    assert row["Reason"] == "'+SUM(A1:A9)" and row["Payee"] == "'@alice"
    assert row["Submitted at (UTC+08:00)"] == ""  # a draft: not submitted
