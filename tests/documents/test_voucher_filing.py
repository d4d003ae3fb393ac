"""A voucher finance would file: its number, 附件 N 张, the watermark before approval, "—" for a
skipped step, no system rows, one A4 page for ten lines, the generic voucher's wording, English."""

from __future__ import annotations

import re
from datetime import date, timedelta

from conftest import STANDARD_TRAIL, expense_content, pdf_page_count, pdf_text
from formwork.documents.render import render_voucher, voucher_context
from formwork.extensions import db


def _compact(text: str) -> str:
    return "".join(text.split())


def _approved(record):
    record.status = "approved"
    db.session.commit()
    return record


def test_a_ten_line_claim_fits_one_a4_page_with_either_voucher(
    published, publish, make_claim, add_trail, demo_org
):
    record = make_claim(rows=10)
    add_trail(record, STANDARD_TRAIL)
    pdf, rendered = render_voucher(record, demo_org["alice"])
    assert rendered.template == "expense_claim.html" and pdf_page_count(pdf) == 1
    publish(expense_content(print_template=None))
    record = make_claim(rows=10)
    add_trail(record, STANDARD_TRAIL)
    pdf, rendered = render_voucher(record, demo_org["alice"])
    assert rendered.fallback_reason is None and pdf_page_count(pdf) == 1


def test_number_attachments_and_watermark_before_approval(published, publish, make_claim, demo_org):
    publish(expense_content(print_template=None))
    record = make_claim(rows=2)
    text = _compact(pdf_text(render_voucher(record, demo_org["alice"])[0]))
    assert re.search(r"BX-\d{4}-000001", text)
    assert "附件：0张" in text
    assert "审批中" in text  # submitted, not yet approved
    record.status = "returned"
    db.session.commit()
    assert "未审批" in _compact(pdf_text(render_voucher(record, demo_org["alice"])[0]))
    text = _compact(pdf_text(render_voucher(_approved(record), demo_org["alice"])[0]))
    assert "审批中" not in text and "未审批" not in text


def test_the_form_template_has_the_watermark_and_attachment_count_too(published, make_claim, demo_org):
    record = make_claim(rows=2)
    pdf, rendered = render_voucher(record, demo_org["alice"])
    text = _compact(pdf_text(pdf))
    assert rendered.template == "expense_claim.html"
    assert "审批中" in text and "附件0张" in text and re.search(r"单号：BX-\d{4}-000001", text)


def test_skipped_steps_sign_with_a_dash_and_system_rows_stay_out_of_the_trail(
    published, make_claim, add_trail, demo_org
):
    record = make_claim(rows=1)
    add_trail(
        record,
        [
            ("dept_head", "approve", "bob", "同意", None),
            ("dept_head", "step_approved", None, None, None),
            ("cfo", "skipped", None, None, None),
            ("finance_review", "alert", None, "发票号码重复", None),
            ("finance_review", "approve", "carol", None, None),
        ],
    )
    context = voucher_context(record, demo_org["alice"])
    actions = [row["action"] for row in context["trail"]]
    assert actions == ["approve", "alert", "approve"]
    dashed = [box for box in context["signatures"] if box["name"] == "—"]
    assert len(dashed) == 1 and dashed[0]["title"] in ("cfo", "CFO", "财务总监") and dashed[0]["date"] == ""
    assert context["signatures"][0]["title"] == "报销人"  # the expense claim calls its applicant so


def test_the_generic_voucher_uses_the_forms_wording_and_never_adds_up_unit_prices(app, demo_org, published):
    from formwork.workflow.submission import create_record

    data = {
        "subject": "笔记本电脑",
        "department": demo_org["alice"].department_id,
        "budget_category": "equipment",
        "items": [
            {"description": "笔记本电脑", "quantity": 2, "unit_price": "800"},
            {"description": "显示器", "quantity": 3, "unit_price": "1000"},
        ],
        "needed_by": (date.today() + timedelta(days=10)).isoformat(),
        "justification": "新员工入职",
    }
    record = create_record("purchase_request", data, demo_org["alice"], submit=True)
    context = voucher_context(record, demo_org["alice"])
    [items] = context["lines"]
    assert list(items["totals"]) == ["amount"] and items["totals"]["amount"] == "¥4,600.00"
    text = _compact(pdf_text(render_voucher(record, demo_org["alice"])[0]))
    assert "申请人：" in text and "报销人" not in text
    assert "¥1,800.00" not in text  # 800 + 1000: a sum of unit prices means nothing


def test_an_english_reader_gets_a_wholly_english_voucher(app, published, publish, make_claim, demo_org):
    from flask_babel import refresh

    publish(expense_content(print_template=None))
    record = make_claim(
        rows=2, reason="Client visit", trip_destination="Shanghai", payee_name="Alice", payee_bank="ICBC"
    )
    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh()
        text = pdf_text(render_voucher(record, demo_org["alice"])[0])
        words = voucher_context(record, demo_org["alice"])["amount_in_words"]
    # Leave out what is Chinese by nature: people's names and the amount in Chinese capitals.
    for name in ("爱丽丝",):
        text = text.replace(name, "")
    text = _compact(text).replace(words, "")
    assert "Claimant:" in text and "Inapproval" in text
    assert "Attachments:0sheet(s)" in text
    assert not re.search(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]", text), re.findall(
        r".{0,20}[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef].{0,20}", text
    )
