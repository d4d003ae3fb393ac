"""The print template is part of the form version: checked when published, stored with it, printed from it."""

from __future__ import annotations

import shutil

from sqlalchemy import select

from conftest import FORMS_DIR, ROOT, claim_data, expense_content, pdf_text
from formwork.definitions import store
from formwork.documents.render import voucher_html
from formwork.extensions import db
from formwork.workflow.models import APPROVAL, OPEN, Task
from formwork.workflow.submission import create_record


def _definitions(tmp_path, print_template: str, templates: dict[str, str]):
    """A definitions folder with the expense claim naming ``print_template`` and the given print files."""
    folder = tmp_path / "defs"
    (folder / "forms").mkdir(parents=True)
    (folder / "print").mkdir()
    text = (FORMS_DIR / "expense_claim.yaml").read_text("utf-8")
    (folder / "forms" / "expense_claim.yaml").write_text(
        text.replace("print_template: expense_claim.html", f"print_template: {print_template}"), "utf-8"
    )
    for name, source in templates.items():
        (folder / "print" / name).write_text(source, "utf-8")
    return folder


def _line_of_print_template(folder) -> int:
    lines = (folder / "forms" / "expense_claim.yaml").read_text("utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if line.startswith("print_template:"))


def test_validate_reports_a_missing_or_broken_template_at_its_line(app, runner, demo_org, tmp_path):
    folder = _definitions(tmp_path, "gone.html", {})
    result = runner.invoke(args=["definitions", "validate", str(folder)])
    assert result.exit_code == 1
    line = _line_of_print_template(folder)
    assert (
        f"expense_claim.yaml:{line}: /print_template: print template gone.html: no such file" in result.output
    )

    folder = _definitions(tmp_path / "b", "bad.html", {"bad.html": "<p>\n{% if %}</p>", "ok.html": "<p></p>"})
    result = runner.invoke(args=["definitions", "validate", str(folder)])
    assert result.exit_code == 1
    assert (
        f"expense_claim.yaml:{line}: /print_template: print template bad.html:2: syntax error"
        in result.output
    )

    folder = _definitions(tmp_path / "c", "main.html", {"main.html": "{% include '_missing.html' %}"})
    result = runner.invoke(args=["definitions", "validate", str(folder)])
    assert result.exit_code == 1 and "_missing.html" in result.output

    folder = _definitions(tmp_path / "d", "main.html", {"main.html": "<h1>{{ record.number }}</h1>"})
    result = runner.invoke(args=["definitions", "validate", str(folder)])
    assert result.exit_code == 0, result.output


def test_a_changed_template_is_a_new_version_and_old_records_keep_theirs(app, demo_org, tmp_path):
    folder = _definitions(
        tmp_path,
        "voucher.html",
        {
            "voucher.html": "<html><body><p>OLD "
            "{{ record.number }}</p>{% include '_foot.html' %}</body></html>",
            "_foot.html": "<p>FOOT-ONE</p>",
        },
    )
    first = store.publish_path(folder)[0].definition
    assert sorted(first.content["print_template_files"]) == ["_foot.html", "voucher.html"]
    old_record = create_record("expense_claim", claim_data(1), demo_org["alice"], submit=True)
    db.session.commit()

    assert store.publish_path(folder)[0].created is False  # nothing changed: no new version
    (folder / "print" / "_foot.html").write_text("<p>FOOT-TWO</p>", "utf-8")  # only an included file changes
    second = store.publish_path(folder)[0]
    assert second.created and second.definition.version == first.version + 1
    new_record = create_record("expense_claim", claim_data(1), demo_org["alice"], submit=True)
    db.session.commit()

    shutil.rmtree(folder / "print")  # the files may even disappear: the versions hold them
    old_html = voucher_html(old_record, demo_org["alice"])
    new_html = voucher_html(new_record, demo_org["alice"])
    assert old_html.template == "voucher.html" and old_html.fallback_reason is None
    assert "FOOT-ONE" in old_html.html and "FOOT-TWO" not in old_html.html
    assert "FOOT-TWO" in new_html.html


def test_sources_sent_by_a_caller_are_replaced_by_the_checked_file(app, demo_org, publish):
    content = expense_content(print_template_files={"expense_claim.html": "{{ ''.__class__ }}"})
    version = publish(content)
    stored = version.content["print_template_files"]["expense_claim.html"]
    assert stored == (ROOT / "definitions" / "print" / "expense_claim.html").read_text("utf-8")
    assert "print_template_files" not in publish(expense_content(print_template=None)).content


def _approve_until_done(client, bearer, record) -> list[str]:
    """Approve every open task of ``record`` through the API, as each holder, until it ends."""
    from formwork.org.models import User

    approvers = []
    for _ in range(10):
        db.session.expire_all()
        task = db.session.scalar(
            select(Task)
            .where(Task.record_id == record.id, Task.status == OPEN, Task.kind == APPROVAL)
            .order_by(Task.id)
            .limit(1)
        )
        if task is None:
            break
        holder = db.session.get(User, task.assignee_id)
        response = client.post(
            f"/api/tasks/{task.id}/decision",
            headers=bearer(holder.username),
            json={"action": "approve", "comment": f"同意-{holder.username}"},
        )
        assert response.status_code == 200, response.get_json()
        approvers.append(holder)
    return approvers


def test_a_really_approved_claim_prints_its_real_trail(app, client, bearer, demo_org, tmp_path):
    store.publish_path(ROOT / "definitions")
    record = create_record("expense_claim", claim_data(3), demo_org["alice"], submit=True)
    db.session.commit()
    approvers = _approve_until_done(client, bearer, record)
    db.session.expire_all()
    assert record.status == "approved" and len(approvers) >= 3
    response = client.get(
        f"/api/records/{record.id}/pdf", headers={**bearer("alice"), "Accept-Language": "zh-CN"}
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = "".join(pdf_text(response.data, tmp_path).split())
    for holder in approvers:
        assert "".join(holder.display_name.split()) in text, holder.display_name
        assert f"同意-{holder.username}" in text
    assert "审批记录" in text and text.count("已批准") >= len(approvers)
