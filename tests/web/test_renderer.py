"""The form renderer: every demo form renders, htmx evaluation, rows, saving and submitting."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select

from formwork.extensions import db
from formwork.records.models import Record

HX = {"HX-Request": "true"}


def form_token(html: str) -> str:
    """The CSRF token of the page's form, as a browser posts it."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf_token input on the page"
    return match.group(1)


def expense_post(token: str, **extra: str) -> dict[str, str]:
    data = {
        "csrf_token": token,
        "_client_token": "tok-1",
        "category": "office",
        "reason": "Printer paper",
        "_rows.lines": "0",
        "lines[0].date": date.today().isoformat(),
        "lines[0].type": "supplies",
        "lines[0].amount": "1234.50",
        "lines[0].invoice_no": "",
        "lines[0].receipt": "",
        "payee_name": "Alice",
        "payee_bank": "ICBC",
        "payee_account": "6222020200112233",
    }
    data.update(extra)
    return data


def test_every_demo_form_renders_with_bound_labels(alice, published):
    for key in published:
        response = alice.get(f"/forms/{key}/new")
        assert response.status_code == 200, key
        html = response.get_data(as_text=True)
        # Every visible input, select and textarea has a <label for> pointing at it.
        ids = re.findall(
            r'<(?:input|select|textarea)(?![^>]*type="(?:hidden|checkbox|file)")[^>]*\bid="(f-[^"]+)"', html
        )
        assert ids, key
        for input_id in ids:
            assert f'for="{input_id}"' in html, f"{key}: {input_id} has no label"


def test_expense_form_widgets(alice):
    html = alice.get("/forms/expense_claim/new").get_data(as_text=True)
    assert 'inputmode="decimal"' in html and 'name="lines[0].amount"' in html
    assert '<select id="f-category" name="category"' in html
    assert 'type="file" id="f-lines-0-receipt"' in html and 'hx-encoding="multipart/form-data"' in html
    assert 'aria-describedby="h-reason"' in html
    assert 'id="fld-trip_destination" hidden' in html  # conditional field starts hidden
    assert 'hx-post="/forms/expense_claim/evaluate"' in html
    assert 'hx-disabled-elt=".form-actions button"' in html
    assert re.search(r'name="_client_token" value="[^"]{20,}"', html)


def test_forms_list_and_home(alice):
    assert "expense_claim/new" in alice.get("/forms").get_data(as_text=True)
    home = alice.get("/")
    assert home.status_code == 200 and "/forms/expense_claim/new" in home.get_data(as_text=True)


def test_evaluate_updates_total_and_shows_conditional_field(alice):
    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    data = expense_post(
        token,
        category="travel",
        **{
            "_rows.lines": ["0", "3"],
            "lines[3].amount": "10000.25",
            "lines[3].date": "",
            "lines[3].type": "",
            "_state": "guest_count=---|guests=---|trip_destination=---|trip_end=---|trip_start=---",
        },
    )
    response = alice.post(
        "/forms/expense_claim/evaluate", data=data, headers={**HX, "HX-Trigger-Name": "category"}
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(r'<output id="out-total"[^>]*hx-swap-oob="true">¥11,234.75</output>', html)
    assert "壹万壹仟贰佰叁拾肆元柒角伍分" in html
    # The travel fields appear (swapped in whole, with their inputs); entertainment stays as it was.
    assert 'id="fld-trip_destination" hx-swap-oob="true"' in html and 'name="trip_destination"' in html
    assert "fld-guests" not in html
    # Inputs the user types in are never part of the answer.
    assert 'name="reason"' not in html and 'name="lines[0].amount"' not in html
    assert "trip_destination=vr-" in html

    # Changing back hides it again.
    data.update(
        category="other", _state="guest_count=---|guests=---|trip_destination=vr-|trip_end=vr-|trip_start=vr-"
    )
    html = alice.post("/forms/expense_claim/evaluate", data=data, headers=HX).get_data(as_text=True)
    assert 'id="fld-trip_destination" hidden hx-swap-oob="true"' in html


def test_add_and_remove_rows_with_htmx(alice):
    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    data = expense_post(token, _op="add:lines")
    html = alice.post("/forms/expense_claim/evaluate", data=data, headers=HX).get_data(as_text=True)
    assert 'hx-swap-oob="beforeend:#rows-lines"' in html
    assert 'id="row-lines-1"' in html and 'name="lines[1].amount"' in html
    assert re.search(r'id="f-lines-1-date"[^>]*autofocus', html)  # focus goes to the new row
    assert 'id="rowctl-lines" hx-swap-oob="true"' in html

    data = expense_post(token, _op="remove:lines:0", **{"_rows.lines": ["0", "1"], "lines[1].amount": "5"})
    html = alice.post("/forms/expense_claim/evaluate", data=data, headers=HX).get_data(as_text=True)
    # The removed row goes; the rows left keep their inputs (no input is sent again, so nothing
    # typed while the answer was on its way is undone) and get their new numbers.
    assert '<div id="row-lines-0" hx-swap-oob="delete"></div>' in html
    assert 'name="lines[1].amount"' not in html and 'id="rows-lines"' not in html
    assert re.search(r'id="rowno-lines-1" hx-swap-oob="true"><span aria-hidden="true">1</span>', html)
    assert re.search(r'id="rowact-lines-1" hx-swap-oob="true">', html)
    assert re.search(r'id="add-lines"[^>]*autofocus', html)
    assert re.search(r'<output id="out-total"[^>]*>¥5.00</output>', html)


def test_min_rows_respected(alice):
    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    html = alice.post(
        "/forms/expense_claim/evaluate", data=expense_post(token, _op="remove:lines:0"), headers=HX
    ).get_data(as_text=True)
    assert 'id="row-lines-0"' not in html  # nothing removed, nothing re-rendered
    assert re.search(r'role="status">[^<]*1[^<]*</span>', html)  # "At least 1 rows are needed." announced


def test_rows_without_javascript(alice):
    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    html = alice.post("/forms/expense_claim/new", data=expense_post(token, _op="add:lines")).get_data(
        as_text=True
    )
    assert 'name="lines[1].amount"' in html and 'value="1234.50"' in html
    assert db.session.scalar(select(func.count(Record.id))) == 0


def test_save_draft_then_submit(alice):
    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    response = alice.post("/forms/expense_claim/new", data=expense_post(token, _action="draft"))
    assert response.status_code == 303
    record = db.session.scalar(select(Record))
    assert record.status == "draft" and record.data["lines"][0]["amount"] == "1234.50"
    assert response.headers["Location"].endswith(f"/records/{record.id}/edit")

    edit = alice.get(f"/records/{record.id}/edit").get_data(as_text=True)
    assert 'value="1234.50"' in edit and f'hx-post="/records/{record.id}/evaluate"' in edit
    response = alice.post(
        f"/records/{record.id}/edit",
        data=expense_post(form_token(edit), _action="submit", reason="Printer paper and toner"),
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/records/{record.id}")
    db.session.expire_all()
    record = db.session.get(Record, record.id)
    assert record.status == "submitted" and record.data["reason"] == "Printer paper and toner"
    detail = alice.get(f"/records/{record.id}").get_data(as_text=True)
    assert "¥1,234.50" in detail and "Printer paper and toner" in detail
    assert f"/records/{record.id}/edit" not in detail  # no edit link once submitted
    assert alice.get(f"/records/{record.id}/edit").status_code == 302


def test_double_submit_creates_one_record(alice):
    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    first = alice.post("/forms/expense_claim/new", data=expense_post(token, _action="submit"))
    second = alice.post("/forms/expense_claim/new", data=expense_post(token, _action="submit"))
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count(Record.id))) == 1


def test_htmx_save_asks_for_navigation(alice):
    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    response = alice.post("/forms/expense_claim/new", data=expense_post(token, _action="draft"), headers=HX)
    assert response.headers["HX-Redirect"].startswith("/records/")


def test_per_field_errors_and_summary(alice):
    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    data = expense_post(
        token,
        _action="submit",
        reason="",
        **{
            "_rows.lines": ["0", "4"],
            "lines[4].amount": "abc",
            "lines[4].date": "",
            "lines[4].type": "meals",
        },
    )
    response = alice.post("/forms/expense_claim/new", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="error-summary"' in html
    assert 'href="#f-reason"' in html and 'href="#f-lines-1-amount"' in html  # rows shown in compact order
    assert re.search(r'id="f-reason"[^>]*aria-describedby="h-reason e-reason"[^>]*aria-invalid="true"', html)
    assert 'id="e-lines-1-amount"' in html and 'value="abc"' in html  # what was typed is kept
    assert db.session.scalar(select(func.count(Record.id))) == 0


def test_post_without_csrf_is_refused(alice):
    data = expense_post("", _action="draft")
    del data["csrf_token"]
    assert alice.post("/forms/expense_claim/new", data=data).status_code == 400
    assert db.session.scalar(select(func.count(Record.id))) == 0


def test_records_list_search_filter_and_404(alice, client, login, app):
    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    for index, reason in enumerate(["Taxi to airport", "Hotel Shanghai", "Team lunch"]):
        alice.post(
            "/forms/expense_claim/new",
            data=expense_post(token, _action="draft", reason=reason, _client_token=f"t{index}"),
        )
    html = alice.get("/requests").get_data(as_text=True)
    assert html.index("Team lunch") < html.index("Taxi to airport")  # newest first
    assert "badge--draft" in html
    found = alice.get("/requests?q=shanghai").get_data(as_text=True)
    assert "Hotel Shanghai" in found and "Team lunch" not in found
    assert "Team lunch" not in alice.get("/requests?status=submitted").get_data(as_text=True)
    record_id = db.session.scalar(select(Record.id).where(Record.title == "Team lunch"))
    other = app.test_client()
    login(other, "frank")
    assert other.get(f"/records/{record_id}").status_code == 404
    assert other.get(f"/records/{record_id}/edit").status_code == 404
    assert "Team lunch" not in other.get("/requests").get_data(as_text=True)


def test_htmx_upload_keeps_id_in_hidden_input_and_download_checks_access(alice, app, login):
    import io

    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    pdf = b"%PDF-1.4\n%%EOF\n"
    response = alice.post(
        "/forms/expense_claim/upload?field=lines[0].receipt",
        data={"_upload.lines[0].receipt": (io.BytesIO(pdf), "taxi.pdf"), "lines[0].receipt": ""},
        content_type="multipart/form-data",
        headers={**HX, "X-CSRFToken": token},
    )
    html = response.get_data(as_text=True)
    match = re.search(r'name="lines\[0\]\.receipt" value="(\d+)" checked', html)
    assert response.status_code == 200 and match and "taxi.pdf" in html
    assert alice.get(f"/attachments/{match.group(1)}").data == pdf
    other = app.test_client()
    login(other, "frank")
    assert other.get(f"/attachments/{match.group(1)}").status_code == 404


def test_removing_a_middle_row_keeps_each_rows_own_stored_values(alice):
    """Columns a page does not post (hidden, read-only) stay with their own row, not the one before."""
    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    rows = {"_rows.lines": ["0", "1", "2"]}
    for i, invoice in enumerate(["10000001", "10000002", "10000003"]):
        rows.update(
            {
                f"lines[{i}].date": date.today().isoformat(),
                f"lines[{i}].type": "supplies",
                f"lines[{i}].amount": f"{i + 1}00.00",
                f"lines[{i}].invoice_no": invoice,
                f"lines[{i}].receipt": "",
            }
        )
    data = expense_post(token, _action="draft")
    data.update(rows)
    assert alice.post("/forms/expense_claim/new", data=data).status_code == 303
    record = db.session.scalar(select(Record))

    edit = alice.get(f"/records/{record.id}/edit").get_data(as_text=True)
    assert 'name="lines[2]._row" value="2"' in edit
    # Row 1 removed on the page; row 2's invoice number column is not posted (as for a read-only column).
    data = expense_post(form_token(edit), _action="draft")
    data.update(
        {k: v for k, v in rows.items() if not k.startswith("lines[1]") and k != "lines[2].invoice_no"}
    )
    data.update({"_rows.lines": ["0", "2"], "lines[0]._row": "0", "lines[2]._row": "2"})
    assert alice.post(f"/records/{record.id}/edit", data=data).status_code == 303
    db.session.expire_all()
    lines = db.session.get(Record, record.id).data["lines"]
    assert [line["invoice_no"] for line in lines] == ["10000001", "10000003"]
    assert [line["amount"] for line in lines] == ["100.00", "300.00"]
    assert all("_row" not in line for line in lines)


def test_editing_a_draft_changed_elsewhere_is_refused_and_keeps_the_page(alice):
    token = form_token(alice.get("/forms/expense_claim/new").get_data(as_text=True))
    alice.post("/forms/expense_claim/new", data=expense_post(token, _action="draft"))
    record = db.session.scalar(select(Record))
    stale_page = alice.get(f"/records/{record.id}/edit").get_data(as_text=True)
    seen = record.lock_version
    assert f'name="_lock_version" value="{seen}"' in stale_page
    # Another tab saves first.
    other_tab = alice.get(f"/records/{record.id}/edit").get_data(as_text=True)
    saved = alice.post(
        f"/records/{record.id}/edit",
        data=expense_post(
            form_token(other_tab), _action="draft", _lock_version=str(seen), reason="From tab two"
        ),
    )
    assert saved.status_code == 303
    refused = alice.post(
        f"/records/{record.id}/edit",
        data=expense_post(
            form_token(stale_page), _action="draft", _lock_version=str(seen), reason="From tab one"
        ),
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "已被他人修改" in html and "From tab one" in html
    db.session.expire_all()
    assert db.session.get(Record, record.id).data["reason"] == "From tab two"
