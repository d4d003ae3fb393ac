"""PDF layout runs in a child process with time and memory limits; a form's template that breaks
them prints with the default voucher, and a voucher that cannot be laid out at all is a clear 422."""

from __future__ import annotations

import multiprocessing.util
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from conftest import expense_content, pdf_fonts, pdf_text
from formwork.documents.layout import LayoutError, Limits, layout_pdf
from formwork.documents.render import DEFAULT_TEMPLATE, render_voucher

NESTED = (
    "<html><body>{% for i in range(3000) %}<div>{% endfor %}deep"
    "{% for i in range(3000) %}</div>{% endfor %}</body></html>"
)
PARAGRAPHS = (
    "<html><body>{% for i in range(200) %}{% for j in range(100) %}"
    "<p>第{{ i }}段 {{ total }} 一段很长的文字</p>{% endfor %}{% endfor %}</body></html>"
)


@pytest.fixture
def heavy_templates(app, tmp_path):
    directory = tmp_path / "print"
    directory.mkdir()
    (directory / "nested.html").write_text(NESTED, encoding="utf-8")
    (directory / "paragraphs.html").write_text(PARAGRAPHS, encoding="utf-8")
    app.config["FORMWORK_PRINT_DIR"] = str(directory)
    return directory


def _claim(publish, make_claim, template: str):
    publish(expense_content(print_template=template))
    return make_claim(rows=2)


def test_three_thousand_nested_divs_fall_back_to_the_default_voucher(
    heavy_templates, published, publish, make_claim, demo_org
):
    record = _claim(publish, make_claim, "nested.html")
    started = time.perf_counter()
    pdf, rendered = render_voucher(record, demo_org["alice"])
    elapsed = time.perf_counter() - started
    assert pdf.startswith(b"%PDF")
    assert rendered.template == DEFAULT_TEMPLATE
    assert "nested.html" in rendered.fallback_reason
    assert "报销事由" in "".join(pdf_text(pdf).split())
    assert elapsed < 20, f"took {elapsed:.1f} s"


def test_twenty_thousand_paragraphs_stop_at_the_time_limit(
    app, heavy_templates, published, publish, make_claim, demo_org
):
    # Long enough for the default voucher on a loaded machine, far too short for 20,000 paragraphs.
    app.config["FORMWORK_PDF_TIMEOUT"] = 4
    record = _claim(publish, make_claim, "paragraphs.html")
    started = time.perf_counter()
    pdf, rendered = render_voucher(record, demo_org["alice"])
    elapsed = time.perf_counter() - started
    assert rendered.template == DEFAULT_TEMPLATE and pdf.startswith(b"%PDF")
    assert "paragraphs.html" in rendered.fallback_reason and "4 秒" in rendered.fallback_reason
    # The time limit, then the default voucher (a fraction of a second unloaded): the worker is
    # held up for about the limit, never for the 15 s and 490 MB the layout takes unbounded.
    assert elapsed < 12, f"took {elapsed:.1f} s"


def test_twenty_thousand_paragraphs_stop_at_the_memory_limit(
    app, heavy_templates, published, publish, make_claim, demo_org
):
    app.config["FORMWORK_PDF_MEMORY_MB"] = 350
    app.config["FORMWORK_PDF_TIMEOUT"] = 60
    record = _claim(publish, make_claim, "paragraphs.html")
    pdf, rendered = render_voucher(record, demo_org["alice"])
    assert rendered.template == DEFAULT_TEMPLATE and pdf.startswith(b"%PDF")
    assert "内存" in rendered.fallback_reason, rendered.fallback_reason


def test_the_limits_leave_room_for_the_fonts(app):
    """The fonts are loaded before the memory limit applies, so a tight limit still prints Chinese."""
    layout = layout_pdf(
        '<html><body style="font-family: sans-serif"><p>费用报销单 壹万贰仟</p></body></html>',
        static_folder=Path(app.static_folder),
        limits=Limits(timeout=20, memory_mb=400),
    )
    assert "费用报销单" in pdf_text(layout.pdf)
    assert "NotoSansSC" in pdf_fonts(layout.pdf).replace("-", "")


def test_layout_that_cannot_finish_raises_layout_error(app):
    with pytest.raises(LayoutError) as caught:
        layout_pdf(
            "<html><body>" + "<p>x</p>" * 20000 + "</body></html>",
            static_folder=Path(app.static_folder),
            limits=Limits(timeout=0.5, memory_mb=1024),
        )
    assert "0.5 秒" in caught.value.reason


def test_an_unprintable_voucher_is_a_clear_422_in_the_api_and_the_browser(
    app, client, login, published, make_claim, bearer
):
    record = make_claim(rows=2)
    app.config["FORMWORK_PDF_TIMEOUT"] = 0.01  # not even the default voucher fits
    response = client.get(f"/api/records/{record.id}/pdf", headers=bearer("alice"))
    assert response.status_code == 422
    assert "could not be printed" in response.get_json()["error"]
    login(client, "alice")
    page = client.get(f"/records/{record.id}/pdf", headers={"Accept-Language": "en"})
    assert page.status_code == 422
    assert "too large to print" in page.get_data(as_text=True)


def _print_folders() -> set[str]:
    where = Path(tempfile.gettempdir())
    return {p.name for pattern in ("weasyprint-*", "formwork-print-*") for p in where.glob(pattern)}


@pytest.mark.parametrize("html", ["<p>费用报销单</p>", "<p>x</p>" * 20000], ids=["printed", "stopped"])
def test_printing_leaves_no_copies_of_the_fonts_behind(app, html, monkeypatch):
    """WeasyPrint copies each @font-face font (11 MB here) to a temporary folder that only its
    finaliser removes; the layout child never runs it, so the parent removes the folder itself,
    also when it stops the child. Without that every voucher printed left 40 MB in /tmp."""
    # A temporary folder of this test's own (the parent's scratch folder is made in it, and the
    # child's copies in that): other tests printing at the same time (the suite runs in
    # parallel) must not count. multiprocessing keeps its own folder (and the forkserver's
    # socket, whose path must stay short) where it already is.
    multiprocessing.util.get_temp_dir()
    own = tempfile.mkdtemp(prefix="fw-")
    monkeypatch.setattr(tempfile, "tempdir", own)
    before = _print_folders()
    try:
        layout_pdf(
            f'<html><body style="font-family: sans-serif">{html}</body></html>',
            static_folder=Path(app.static_folder),
            limits=Limits(timeout=1 if len(html) > 100 else 20, memory_mb=1024),
        )
    except LayoutError:
        pass  # the stopped layout: its scratch folder must go too
    left = _print_folders() - before
    monkeypatch.undo()
    shutil.rmtree(own, ignore_errors=True)
    assert left == set()
