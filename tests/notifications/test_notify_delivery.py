"""The outbox worker: real SMTP, retries with backoff, dead letters, the webhook plugin, the CLI."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from formwork.db_types import utcnow
from formwork.extensions import db
from formwork.notifications import delivery, service
from formwork.notifications.models import DEAD, PENDING, SENT, OutboxMessage
from formwork.org.clock import as_utc


def _messages() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_email_is_delivered_over_smtp(app, demo_org, make_record, smtp_config):
    demo_org["bob"].email, demo_org["bob"].locale = "bob@example.com", "en"
    record = make_record()
    service.notify([demo_org["bob"].id], "task_assigned", record=record)
    db.session.commit()
    report = delivery.deliver()
    assert (report.sent, report.retried, report.dead) == (1, 0, 0)
    [mail] = smtp_config.inbox.messages
    assert mail["To"] == "bob@example.com" and mail["From"] == "formwork@example.com"
    assert mail["Subject"] == f"Approval needed: Expense claim #{record.id} Customer visit"
    assert "waiting for your approval" in mail.get_content()
    assert f"formwork-outbox-{_messages()[0].id}" in mail["Message-ID"]
    [message] = _messages()
    assert message.status == SENT and message.attempts == 1 and message.sent_at is not None
    assert delivery.deliver().handled == 0  # nothing is sent twice


def test_chinese_mail_survives_the_trip(app, demo_org, make_record, smtp_config):
    demo_org["carol"].email = "carol@example.com"
    record = make_record(title="上海客户拜访")
    service.notify([demo_org["carol"].id], "approved", record=record)
    db.session.commit()
    delivery.deliver()
    [mail] = smtp_config.inbox.messages
    assert mail["Subject"] == f"已通过：费用报销 #{record.id} 上海客户拜访"
    assert "已审批通过" in mail.get_content()


def test_unreachable_mail_server_loses_nothing_and_delivers_later(app, demo_org, make_record, smtp_tools):
    SmtpServer, free_port = smtp_tools
    port = free_port()  # nothing listens here yet: connection refused
    app.config.update(FORMWORK_SMTP_HOST="127.0.0.1", FORMWORK_SMTP_PORT=port, FORMWORK_SMTP_TIMEOUT=2)
    demo_org["bob"].email = "bob@example.com"
    service.notify([demo_org["bob"].id], "reminder", record=make_record())
    db.session.commit()

    start = utcnow()
    report = delivery.deliver(now=start)
    assert (report.sent, report.retried) == (0, 1)
    [message] = _messages()
    assert message.status == PENDING and message.attempts == 1
    assert "Connection" in message.last_error or "refused" in message.last_error.lower()
    assert as_utc(message.next_attempt_at) == start + timedelta(seconds=60)
    assert delivery.deliver(now=start + timedelta(seconds=30)).handled == 0  # not due yet

    report = delivery.deliver(now=start + timedelta(seconds=61))  # second failure: wait doubles
    [message] = _messages()
    assert report.retried == 1 and message.attempts == 2
    assert as_utc(message.next_attempt_at) == start + timedelta(seconds=61 + 120)

    server = SmtpServer(port).start()  # the server comes back
    try:
        report = delivery.deliver(now=start + timedelta(seconds=200))
        assert report.sent == 1
        assert len(server.inbox.messages) == 1
    finally:
        server.stop()
    [message] = _messages()
    assert message.status == SENT and message.attempts == 3


def test_backoff_is_exponential_and_capped(app):
    app.config.update(FORMWORK_OUTBOX_RETRY_SECONDS=60, FORMWORK_OUTBOX_RETRY_MAX_SECONDS=3600)
    assert [delivery.backoff(n).total_seconds() for n in range(1, 9)] == [
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]


def test_message_is_dead_after_the_last_attempt(app, smtp_tools):
    free_port = smtp_tools[1]
    app.config.update(
        FORMWORK_OUTBOX_MAX_ATTEMPTS=3,
        FORMWORK_SMTP_HOST="127.0.0.1",
        FORMWORK_SMTP_PORT=free_port(),
        FORMWORK_SMTP_TIMEOUT=2,
    )
    service.enqueue("email", "x@example.com", subject="s", body="b")
    db.session.commit()
    moment = utcnow()
    outcomes = []
    for _ in range(3):
        report = delivery.deliver(now=moment)
        outcomes.append((report.retried, report.dead))
        moment += timedelta(days=1)
    assert outcomes == [(1, 0), (1, 0), (0, 1)]
    [message] = _messages()
    assert message.status == DEAD and message.attempts == 3 and message.last_error
    assert delivery.deliver(now=moment).handled == 0  # dead letters stay put
    assert delivery.requeue() == 1
    assert _messages()[0].status == PENDING and _messages()[0].attempts == 0


def test_unknown_channel_is_retried_not_lost(app):
    service.enqueue("carrier_pigeon", "loft 7", subject="s")
    db.session.commit()
    report = delivery.deliver()
    assert report.retried == 1 and "carrier_pigeon" in report.errors[0]
    assert _messages()[0].status == PENDING


def test_webhook_plugin_posts_a_wecom_text_message(app, demo_org, make_record, webhook):
    assert "webhook" in app.extensions["formwork.plugins"].channels
    app.config.update(FORMWORK_WEBHOOK_URL=webhook.url, FORMWORK_WEBHOOK_ROLES="finance_reviewer")
    demo_org["carol"].locale = "en"
    record = make_record()
    service.notify(
        [demo_org["carol"].id, demo_org["bob"].id],
        "alert",
        record=record,
        params={"message": {"zh-CN": "发票号重复", "en": "Duplicate invoice number"}},
    )
    db.session.commit()
    # carol holds finance_reviewer; bob does not, so only carol's notification goes to the group
    assert [(m.channel, m.recipient) for m in _messages()] == [("webhook", "carol")]
    assert delivery.deliver().sent == 1
    [post] = webhook.posts
    assert post["path"].endswith("key=test") and post["content_type"].startswith("application/json")
    assert post["json"]["msgtype"] == "text"
    content = post["json"]["text"]["content"]
    assert content.startswith(f"Alert: Expense claim #{record.id}") and "Duplicate invoice number" in content


def test_webhook_refusal_is_retried(app, demo_org, webhook):
    app.config.update(FORMWORK_WEBHOOK_URL=webhook.url)
    webhook.answer = {"errcode": 93000, "errmsg": "invalid webhook url"}
    service.notify([demo_org["bob"].id], "cc")
    db.session.commit()
    report = delivery.deliver()
    assert report.retried == 1 and "93000" in _messages()[0].last_error
    webhook.answer = {"errcode": 0, "errmsg": "ok"}
    assert delivery.deliver(now=utcnow() + timedelta(minutes=2)).sent == 1


def test_webhook_is_off_without_a_url_and_filters_by_user_and_kind(app, demo_org):
    service.notify([demo_org["bob"].id], "cc")
    assert _messages() == []
    app.config.update(
        FORMWORK_WEBHOOK_URL="http://127.0.0.1:9/hook",
        FORMWORK_WEBHOOK_USERS="bob",
        FORMWORK_WEBHOOK_KINDS="task_assigned,escalated",
    )
    service.notify([demo_org["bob"].id, demo_org["alice"].id], "cc")
    service.notify([demo_org["bob"].id, demo_org["alice"].id], "escalated")
    db.session.commit()
    assert [(m.recipient, m.payload["kind"]) for m in _messages()] == [("bob", "escalated")]


def test_deliver_command(app, runner, demo_org, smtp_config):
    demo_org["bob"].email = "bob@example.com"
    service.notify([demo_org["bob"].id], "cc")
    db.session.commit()
    result = runner.invoke(args=["outbox", "deliver", "--limit", "5"])
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output and len(smtp_config.inbox.messages) == 1
    status = runner.invoke(args=["outbox", "status"])
    assert "sent: 1" in status.output and "pending: 0" in status.output


def test_message_id_is_the_same_on_every_retry(app, demo_org, make_record, smtp_config, monkeypatch):
    """docs/operations.md: a retry that repeats a send carries the same Message-ID, so it shows once."""
    from formwork.notifications.channels import EmailChannel

    seen: list[str] = []

    def flaky_send(self, message):
        seen.append(self.build(message)["Message-ID"])
        raise OSError("connection dropped after the server accepted the message")

    monkeypatch.setattr(EmailChannel, "send", flaky_send)
    demo_org["bob"].email = "bob@example.com"
    service.notify([demo_org["bob"].id], "reminder", record=make_record())
    service.notify([demo_org["bob"].id], "task_assigned", record=make_record())
    db.session.commit()
    start = utcnow()
    for minutes in (0, 2, 10):
        delivery.deliver(now=start + timedelta(minutes=minutes))
    first, second = _messages()
    assert first.attempts == 3 and len(seen) == 6
    ids_of_first = {seen[0], seen[2], seen[4]}
    assert len(ids_of_first) == 1 and f"formwork-outbox-{first.id}." in seen[0]
    assert seen[1] == seen[3] == seen[5] != seen[0]
