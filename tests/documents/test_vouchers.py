"""Records print as PDF vouchers: Chinese labels, amounts, capitals, the approval trail, a real CJK font."""

from __future__ import annotations

import time

from conftest import STANDARD_TRAIL, expense_content, pdf_fonts, pdf_text
from formwork.documents.render import DEFAULT_TEMPLATE, pdf_filename, record_pdf, render_voucher


def _compact(text: str) -> str:
    """PDF text without the spaces and line breaks layout puts between characters."""
    return "".join(text.split())


def test_default_voucher_prints_fields_lines_totals_capitals_and_trail(
    published, publish, make_claim, add_trail, demo_org, tmp_path
):
    publish(expense_content(print_template=None))  # the default voucher, not the form's own template
    record = make_claim(rows=10)
    add_trail(record, STANDARD_TRAIL)

    started = time.perf_counter()
    pdf, rendered = render_voucher(record, demo_org["alice"])
    elapsed = time.perf_counter() - started

    assert rendered.template == DEFAULT_TEMPLATE and rendered.fallback_reason is None
    assert pdf.startswith(b"%PDF")
    text = _compact(pdf_text(pdf, tmp_path))
    # Form title, labels (from the definition and from the interface catalog), values.
    for expected in (
        "费用报销",
        "报销事由",
        "上海客户拜访",
        "出差目的地",
        "费用明细",
        "金额",
        "发票号码",
        "收款人",
        "报销总额",
        "金额大写",
        "审批",
        "爱丽丝Alice",
        "销售部",
    ):
        assert expected in text, expected
    # Amounts with thousands separators and currency; ten lines; the total and its capitals.
    assert text.count("¥1,234.56") == 10
    assert "¥12,345.60" in text
    assert "壹万贰仟叁佰肆拾伍元陆角" in text
    assert "12345687" in text  # the tenth invoice number
    # The trail: names, decisions, comments, on behalf of whom.
    assert "鲍勃Bob" in text and "格蕾丝Grace" in text and "卡罗尔Carol" in text
    assert "已批准" in text
    assert "情况属实，同意" in text and "票据齐全" in text
    assert "dept_head" in text or "部门" in text
    # A real CJK font is embedded, so the characters are drawn rather than shown as empty boxes.
    assert "NotoSansSC" in pdf_fonts(pdf, tmp_path).replace(" ", "").replace("-", "")
    assert elapsed < 15, f"a ten-line voucher took {elapsed:.1f} s"


def test_hidden_fields_are_not_printed(published, publish, make_claim, demo_org, tmp_path):
    publish(expense_content(print_template=None))
    record = make_claim(
        rows=2, category="office", trip_destination=None, trip_start=None, trip_end=None, reason="打印机硒鼓"
    )
    text = _compact(pdf_text(record_pdf(record, demo_org["alice"]), tmp_path))
    assert "打印机硒鼓" in text and "办公费" in text
    assert "出差目的地" not in text


def test_capitals_come_from_the_plugin_when_the_form_has_no_capitals_field(
    published, publish, make_claim, demo_org, tmp_path
):
    content = expense_content(print_template=None)
    content["fields"] = [f for f in content["fields"] if f["key"] != "total_in_words"]
    publish(content)
    record = make_claim(rows=10)
    text = _compact(pdf_text(record_pdf(record, demo_org["alice"]), tmp_path))
    # The field is gone, yet the voucher's summary still writes the total in capitals (once).
    assert text.count("壹万贰仟叁佰肆拾伍元陆角") == 1


def test_the_form_print_template_renders(published, make_claim, add_trail, demo_org, tmp_path):
    record = make_claim(rows=10)
    add_trail(record, STANDARD_TRAIL)
    pdf, rendered = render_voucher(record, demo_org["alice"])
    assert rendered.template == "expense_claim.html" and rendered.fallback_reason is None
    text = _compact(pdf_text(pdf, tmp_path))
    for expected in (
        "费用报销单",
        "报销部门：销售部",
        "合计金额（大写）",
        "壹万贰仟叁佰肆拾伍元陆角",
        "¥12,345.60",
        "审批记录",
        "鲍勃Bob",
        "已批准",
        "代卡罗尔Carol",
        "第1页/共",
    ):
        assert expected in text, expected
    assert text.count("¥1,234.56") == 10


def test_english_reader_gets_english_labels(app, published, publish, make_claim, demo_org, tmp_path):
    from flask_babel import refresh

    publish(expense_content(print_template=None))
    record = make_claim(rows=1)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh()
        text = _compact(pdf_text(record_pdf(record, demo_org["alice"]), tmp_path))
    assert "Approvaltrail" in text and "Expenseclaim" in text and "AmountinChinesecapitals" in text


def test_safe_file_name(published, make_claim):
    record = make_claim(rows=1)
    assert pdf_filename(record) == f"expense_claim-{record.id}.pdf"
    record.form_key = 'a"b/../c\r\nd'
    assert pdf_filename(record) == f"a_b_c_d-{record.id}.pdf"
