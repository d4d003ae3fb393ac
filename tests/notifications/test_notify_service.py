"""notify(): in-app rows and outbox messages in the caller's transaction, in the reader's language."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from formwork.extensions import db
from formwork.notifications import messages, service
from formwork.notifications.models import Notification, OutboxMessage


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_notify_writes_in_app_rows_without_email_when_smtp_is_off(app, demo_org, make_record):
    record = make_record()
    demo_org["bob"].email = "bob@example.com"
    created = service.notify([demo_org["bob"].id, demo_org["carol"].id], "task_assigned", record=record)
    db.session.commit()
    assert [n.user_id for n in created] == [demo_org["bob"].id, demo_org["carol"].id]
    assert _count(Notification) == 2
    assert _count(OutboxMessage) == 0  # e-mail not configured: nothing waits for it
    assert created[0].record_id == record.id and created[0].params["record_id"] == record.id


def test_notify_enqueues_email_for_recipients_with_an_address(app, demo_org, make_record):
    app.config["FORMWORK_SMTP_HOST"] = "mail.example.com"
    demo_org["bob"].email = "bob@example.com"
    record = make_record()
    service.notify([demo_org["bob"], demo_org["carol"]], "task_assigned", record=record)
    db.session.commit()
    outbox = db.session.scalars(select(OutboxMessage)).all()
    assert [(m.channel, m.recipient, m.status) for m in outbox] == [("email", "bob@example.com", "pending")]
    assert outbox[0].payload["kind"] == "task_assigned" and outbox[0].payload["record_id"] == record.id


def test_notify_rolls_back_with_the_callers_transaction(app, demo_org, make_record):
    app.config["FORMWORK_SMTP_HOST"] = "mail.example.com"
    demo_org["bob"].email = "bob@example.com"
    db.session.commit()
    record = make_record()
    service.notify([demo_org["bob"].id], "approved", record=record)
    assert _count(Notification) == 1 and _count(OutboxMessage) == 1  # visible inside the transaction
    db.session.rollback()
    assert _count(Notification) == 0 and _count(OutboxMessage) == 0  # and gone with it


def test_messages_are_in_the_recipients_language(app, demo_org, make_record):
    app.config["FORMWORK_SMTP_HOST"] = "mail.example.com"
    demo_org["bob"].email, demo_org["bob"].locale = "bob@example.com", "en"
    demo_org["carol"].email, demo_org["carol"].locale = "carol@example.com", None  # default: Chinese
    record = make_record(title="Customer visit")
    service.notify(
        [demo_org["bob"].id, demo_org["carol"].id],
        "rejected",
        record=record,
        params={"actor": demo_org["dave"], "comment": "Receipts missing"},
    )
    db.session.commit()
    mails = {m.recipient: m for m in db.session.scalars(select(OutboxMessage))}
    english, chinese = mails["bob@example.com"], mails["carol@example.com"]
    assert english.subject == f"Rejected: Expense claim #{record.id} Customer visit"
    assert "was rejected" in english.body and "Comment: Receipts missing" in english.body
    assert f"By: {demo_org['dave'].display_name}" in english.body
    assert chinese.subject == f"已驳回：费用报销 #{record.id} Customer visit"
    assert "驳回" in chinese.body and "意见：Receipts missing" in chinese.body


@pytest.mark.parametrize("kind", sorted(k for k in messages.KINDS if not k.startswith("kpi_")))
def test_every_kind_renders_in_both_languages(app, kind):
    params = {"record_id": 7, "form": {"zh-CN": "费用报销", "en": "Expense claim"}, "title": "Trip"}
    english_subject, english_body = messages.render(kind, params, "en")
    chinese_subject, chinese_body = messages.render(kind, params, "zh_CN")
    assert "Expense claim #7 Trip" in english_subject and "Expense claim #7 Trip" in english_body
    assert "费用报销 #7 Trip" in chinese_subject and "费用报销 #7 Trip" in chinese_body
    assert chinese_subject != english_subject and chinese_body != english_body


@pytest.mark.parametrize("kind", ["kpi_alert", "kpi_normal"])
def test_kpi_alert_kinds_render_in_both_languages(app, kind):
    params = {
        "kpi": {"zh-CN": "预算执行率", "en": "Budget execution"},
        "scope": {"zh-CN": "销售部", "en": "Sales"},
        "level": {"zh-CN": "预警", "en": "warning"},
        "value": {"zh-CN": "93.5%", "en": "93.5%"},
        "threshold": {"zh-CN": "90.0%", "en": "90.0%"},
        "period": "2026-Q2",
    }
    english_subject, english_body = messages.render(kind, params, "en")
    chinese_subject, chinese_body = messages.render(kind, params, "zh_CN")
    assert "Budget execution" in english_subject and "(Sales, 2026-Q2) is" in english_body
    assert "预算执行率" in chinese_subject and "（销售部，2026-Q2）" in chinese_body
    assert "93.5%" in english_body and "93.5%" in chinese_body
    if kind == "kpi_alert":
        assert "past its warning threshold of 90.0%" in english_body and "预警阈值 90.0%" in chinese_body


def test_unknown_kind_gets_a_generic_text_instead_of_failing_the_caller(app, demo_org):
    [notification] = service.notify([demo_org["bob"].id], "plugin_news", params={"record_id": 3})
    subject, body = service.notification_text(notification, "en")
    assert subject == "Update: #3" and "There is news on #3." == body
    assert service.notification_text(notification, "zh_CN")[0] == "动态：#3"


def test_runtime_parameters_read_well(app):
    """The runtime passes the form key as ``form`` and the step's names as ``step_name``."""
    params = {
        "record_id": 5,
        "form": "expense_claim",
        "form_title": {"zh-CN": "费用报销", "en": "Expense claim"},
        "step": "finance",
        "step_name": {"zh-CN": "财务审核", "en": "Finance review"},
    }
    subject, body = messages.render("task_assigned", params, "en")
    assert subject == "Approval needed: Expense claim #5" and "Step: Finance review" in body
    assert "环节：财务审核" in messages.render("task_assigned", params, "zh_CN")[1]


def test_inactive_and_unknown_recipients_are_skipped_and_duplicates_collapse(app, demo_org):
    demo_org["frank"].active = False
    created = service.notify(
        [demo_org["bob"].id, demo_org["bob"].id, demo_org["frank"].id, 999_999, None], "cc"
    )
    assert [n.user_id for n in created] == [demo_org["bob"].id]


def test_enqueue_is_idempotent_on_the_dedupe_key(app):
    first = service.enqueue("email", "a@example.com", subject="s", body="b", dedupe_key="k1")
    second = service.enqueue("email", "a@example.com", subject="s", body="b", dedupe_key="k1")
    other = service.enqueue("email", "a@example.com", subject="s", body="b", dedupe_key="k2")
    db.session.commit()
    assert first is not None and second is None and other not in (None, first)
    assert _count(OutboxMessage) == 2


def test_duplicate_enqueue_leaves_the_callers_transaction_usable(app, demo_org):
    service.enqueue("email", "a@example.com", dedupe_key="same")
    db.session.commit()
    demo_org["bob"].display_name = "Bob B."
    assert service.enqueue("email", "a@example.com", dedupe_key="same") is None
    db.session.commit()  # no failed transaction to roll back
    db.session.expire_all()
    assert demo_org["bob"].display_name == "Bob B."


def test_notify_with_dedupe_enqueues_each_message_once(app, demo_org, make_record):
    app.config["FORMWORK_SMTP_HOST"] = "mail.example.com"
    demo_org["bob"].email = "bob@example.com"
    record = make_record()
    for _ in range(2):
        service.notify([demo_org["bob"].id], "reminder", record=record, dedupe="due:1:remind:1")
        db.session.commit()
    assert _count(OutboxMessage) == 1


def test_base_url_puts_a_link_in_the_message(app, demo_org, make_record):
    app.config.update(FORMWORK_SMTP_HOST="mail.example.com", FORMWORK_BASE_URL="https://fw.example.com/")
    demo_org["bob"].email, demo_org["bob"].locale = "bob@example.com", "en"
    record = make_record()
    service.notify([demo_org["bob"].id], "cc", record=record)
    message = db.session.scalar(select(OutboxMessage))
    assert f"Open: https://fw.example.com/records/{record.id}" in message.body
