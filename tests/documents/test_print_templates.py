"""Per-form print templates are sandboxed: hostile ones are refused and the default voucher prints instead."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from conftest import expense_content, pdf_text
from formwork.documents.render import DEFAULT_TEMPLATE, render_voucher
from formwork.printing.templates import PrintTemplateError, check_print_template, render_print_template

HOSTILE = {
    "mro.html": "<p>{{ ''.__class__.__mro__ }}</p>",
    "subclasses.html": "<p>{{ ''.__class__.__mro__[1].__subclasses__() }}</p>",
    "config.html": "<p>{{ config.SECRET_KEY }}{{ config['SECRET_KEY'] }}</p>",
    "globals.html": "<p>{{ self._TemplateReference__context }}{{ range.__globals__ }}</p>",
    "include_passwd.html": "{% include '/etc/passwd' %}",
    "include_up.html": "{% include '../forms/expense_claim.yaml' %}",
    "huge_loop.html": "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    "huge_range.html": "{% for i in range(10**9) %}{% endfor %}",
    "power.html": "{{ 10 ** (10 ** 10) }}",
    "huge_string.html": "{{ 'x' * 100000000 }}",
    "string_loop.html": "{% set s = 'x' * 90000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}",
    "lipsum.html": "{{ lipsum(100000) }}",
    "mutate.html": "{% set _ = labels.update({'total': 'HACKED'}) %}{{ labels.total }}",
    "syntax.html": "<p>{% for x in %}</p>",
    "undefined.html": "<p>{{ no_such_variable.anything }}</p>",
}


@pytest.fixture
def print_dir(app, tmp_path):
    """A print directory with hostile templates, used instead of definitions/print/."""
    directory = tmp_path / "print"
    directory.mkdir()
    for name, source in HOSTILE.items():
        (directory / name).write_text(source, encoding="utf-8")
    (directory / "fine.html").write_text(
        "<html><body><h1>{{ record.form_title }}</h1><p>{{ total }} {{ amount_in_words }}</p>"
        "{% include '_part.html' %}</body></html>",
        encoding="utf-8",
    )
    (directory / "_part.html").write_text("<p>{{ data.reason }}</p>", encoding="utf-8")
    (directory / "too_big.html").write_text("x" * (65 * 1024), encoding="utf-8")
    app.config["FORMWORK_PRINT_DIR"] = str(directory)
    app.config["SECRET_KEY"] = "s3cr3t-print-test-key"
    return directory


def _claim_with_template(publish, make_claim, name: str):
    publish(expense_content(print_template=name))
    return make_claim(rows=2)


# Found when the form is published: the form never names a template that cannot work.
REFUSED_AT_PUBLISH = {
    "include_passwd.html": "without folders",
    "include_up.html": "without folders",
    "syntax.html": "syntax.html:1: syntax error",
    "too_big.html": "larger than 64 KB",
    "missing.html": "no such file",
}


@pytest.mark.parametrize("name", sorted(REFUSED_AT_PUBLISH))
def test_missing_or_broken_template_is_refused_when_publishing(name, print_dir, published, publish):
    from formwork.definitions.problems import DefinitionError

    with pytest.raises(DefinitionError) as caught:
        publish(expense_content(print_template=name))
    problems = [p for p in caught.value.problems if p.pointer == "/print_template"]
    assert problems and name in problems[0].message and REFUSED_AT_PUBLISH[name] in problems[0].message


@pytest.mark.parametrize("name", sorted(set(HOSTILE) - set(REFUSED_AT_PUBLISH)))
def test_hostile_or_broken_template_falls_back_to_the_default_voucher(
    name, print_dir, published, publish, make_claim, demo_org, tmp_path, caplog
):
    record = _claim_with_template(publish, make_claim, name)
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="formwork.documents.render"):
        pdf, rendered = render_voucher(record, demo_org["alice"])
    assert time.perf_counter() - started < 12
    assert rendered.template == DEFAULT_TEMPLATE
    assert rendered.fallback_reason and name in rendered.fallback_reason
    assert any(name in message and "default voucher" in message for message in caplog.messages)
    text = pdf_text(pdf, tmp_path)
    assert "s3cr3t" not in text and "root:" not in text and "HACKED" not in text
    assert "贰仟肆佰陆拾玖元壹角贰分" in "".join(text.split())  # the default voucher, complete


def test_errors_name_the_template_and_line(print_dir, app):
    with pytest.raises(PrintTemplateError) as caught:
        render_print_template("syntax.html", {})
    assert caught.value.line == 1 and "syntax error" in caught.value.message
    with pytest.raises(PrintTemplateError) as caught:
        render_print_template("mro.html", {})
    assert "unsafe" in caught.value.message or "SecurityError" in caught.value.message
    with pytest.raises(PrintTemplateError) as caught:
        render_print_template("huge_loop.html", {})
    assert "range" in caught.value.message or "loops" in caught.value.message


@pytest.mark.parametrize("name", ["../forms/expense_claim.yaml", "/etc/passwd", "sub/dir.html", "x.txt", ""])
def test_template_names_cannot_leave_the_print_directory(name, print_dir):
    with pytest.raises(PrintTemplateError):
        render_print_template(name, {})


def test_a_good_template_renders_with_includes_from_the_print_directory(
    print_dir, published, publish, make_claim, demo_org, tmp_path
):
    record = _claim_with_template(publish, make_claim, "fine.html")
    pdf, rendered = render_voucher(record, demo_org["alice"])
    assert rendered.template == "fine.html" and rendered.fallback_reason is None
    text = "".join(pdf_text(pdf, tmp_path).split())
    assert (
        "费用报销" in text
        and "上海客户拜访" in text
        and "¥2,469.12" in text
        and "贰仟肆佰陆拾玖元壹角贰分" in text
    )


def test_field_values_are_escaped(print_dir, published, publish, make_claim, demo_org):
    from formwork.documents.render import voucher_html

    publish(expense_content(print_template="fine.html"))
    record = make_claim(rows=1, reason='<img src="http://attacker.example/x.png">')
    html = voucher_html(record, demo_org["alice"]).html
    assert "<img" not in html and "&lt;img" in html


def test_printing_never_fetches_remote_urls(print_dir, published, publish, make_claim, demo_org, app):
    (print_dir / "remote.html").write_text(
        '<html><head><link rel="stylesheet" href="https://cdn.example.com/x.css">'
        '<style>body { background: url("http://tracker.example/bg.png") }</style></head>'
        '<body><img src="http://tracker.example/pixel.png"><img src="file:///etc/passwd">'
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">{{ total }}</body></html>',
        encoding="utf-8",
    )
    record = _claim_with_template(publish, make_claim, "remote.html")
    pdf, rendered = render_voucher(record, demo_org["alice"])
    assert rendered.template == "remote.html" and pdf.startswith(b"%PDF")
    for url in (
        "https://cdn.example.com/x.css",
        "http://tracker.example/bg.png",
        "http://tracker.example/pixel.png",
        "file:///etc/passwd",
    ):
        assert url in rendered.refused_urls
    # Only the data: URL and the bundled fonts ever reached the real fetcher.
    fonts = (Path(app.static_folder) / "vendor" / "fonts").resolve().as_uri() + "/"
    opened = rendered.fetched_urls
    assert any(url.startswith("data:") for url in opened)
    assert all(url.startswith(("data:", fonts)) for url in opened), opened


def test_print_check_command(print_dir, runner):
    result = runner.invoke(args=["print", "check", "fine.html"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["print", "check", "syntax.html", "too_big.html"])
    assert result.exit_code == 1
    assert "syntax.html:1" in result.output and "too_big.html" in result.output
    assert check_print_template("mro.html") == []  # well-formed; refused only when it runs


def test_the_demo_print_templates_are_well_formed(app):
    from formwork.printing.templates import print_directory

    names = sorted(p.name for p in print_directory().glob("*.html"))
    assert "expense_claim.html" in names
    for name in names:
        assert check_print_template(name) == []
