"""No word on a voucher is broken mid-word: every label and trail entry of a ten-line claim can be
read whole on one line of the printed page, in Chinese and in English, with either voucher."""

from __future__ import annotations

import pytest
from flask_babel import refresh

from conftest import STANDARD_TRAIL, expense_content, pdf_text
from formwork.documents.render import render_voucher
from formwork.forms import catalogue
from formwork.forms.model import FormModel
from formwork.i18n import localized

ENGLISH = {
    "reason": "Client visit",
    "trip_destination": "Shanghai",
    "payee_name": "Alice",
    "payee_bank": "ICBC",
}


def _words(form: FormModel, tag: str) -> set[str]:
    """What must stay whole: each field label (each word of it in English) and the trail's comments."""
    labels = [localized(field.label, tag) for field in form.fields]
    labels += [localized(sub.label, tag) for field in form.fields if field.is_lines for sub in field.fields]
    labels += [comment for _step, _action, _actor, comment, _behalf in STANDARD_TRAIL if comment]
    if tag.startswith("en"):
        return {
            word.strip("():,") for label in labels for word in label.split() if len(word.strip("():,")) > 2
        }
    return {label for label in labels if label}


@pytest.mark.parametrize("template", ["form", "generic"])
@pytest.mark.parametrize("tag", ["zh-CN", "en"])
def test_no_word_on_a_ten_line_voucher_is_broken_across_lines(
    app, published, publish, make_claim, add_trail, demo_org, template, tag
):
    if template == "generic":
        publish(expense_content(print_template=None))
    record = make_claim(rows=10, **(ENGLISH if tag == "en" else {}))
    add_trail(record, STANDARD_TRAIL)
    with app.test_request_context(headers={"Accept-Language": tag}):
        refresh()
        pdf, rendered = render_voucher(record, demo_org["alice"])
        lines = [" ".join(line.split()) for line in pdf_text(pdf).splitlines()]
        form = catalogue.compiled_form(record.definition)
        words = _words(form, tag)
        whole = {word for word in words if any(word in line for line in lines)}
        broken = sorted(word for word in words - whole if word in "".join("".join(lines).split()))
    assert len(whole) >= 8, (whole, lines)  # the voucher prints the labels it is checked on
    assert broken == [], (
        f"broken across lines on the {rendered.template or 'generic'} voucher: {broken}\n" + "\n".join(lines)
    )
