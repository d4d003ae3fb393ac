"""Notification channels: where outbox messages go (e-mail built in; plugins add more).

A channel answers two questions. ``address_for(user, kind)``: does this channel reach
this person for this kind of notification, and at which address? (``None`` means no,
including "the channel is not configured".) ``send(message)``: deliver one outbox
message now, raising on any failure so the delivery worker retries it later.

Plugins register channels with ``registry.add_channel(channel)`` in their ``load``.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from flask import current_app

from ..org.models import User
from ..plugins import current_registry

EMAIL = "email"


@dataclass(frozen=True)
class OutgoingMessage:
    """A snapshot of one outbox row, handed to a channel outside any database transaction."""

    id: int
    channel: str
    recipient: str
    subject: str | None = None
    body: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    created_at: datetime | None = None  # when the row was queued: part of its e-mail Message-ID


class Channel(ABC):
    """One way of reaching people. Subclasses set ``name`` and implement both methods."""

    name: str = ""

    @abstractmethod
    def address_for(self, user: User, kind: str) -> str | None:
        """The recipient address for ``user`` on this channel, or None when it does not reach them."""

    @abstractmethod
    def send(self, message: OutgoingMessage) -> None:
        """Deliver ``message`` now; raise on failure (the worker retries with backoff)."""


class ChannelNotConfigured(RuntimeError):
    """The channel's settings are missing at delivery time; the message waits for them."""


def setting(name: str, default: Any = None) -> Any:
    """A channel setting from the application configuration (filled from the environment at start)."""
    value = current_app.config.get(name)
    return default if value in (None, "") else value


def message_id(message: OutgoingMessage, sender: str) -> str:
    """The e-mail Message-ID of an outbox row: the same on every retry of that row.

    If a retry repeats a send the server had in fact accepted, mail clients see the same id
    and show the message once. The row's queueing time keeps ids apart when a database is
    recreated and outbox ids start again at 1.
    """
    domain = re.sub(r"[^A-Za-z0-9.-]", "", sender.rpartition("@")[2]) or "localhost"
    queued = message.created_at.strftime("%Y%m%d%H%M%S%f") if message.created_at else "0"
    return f"<formwork-outbox-{message.id}.{queued}@{domain}>"


class EmailChannel(Channel):
    """E-mail over SMTP, configured with ``FORMWORK_SMTP_*``; off when no host is set."""

    name = EMAIL

    def enabled(self) -> bool:
        return bool(setting("FORMWORK_SMTP_HOST"))

    def address_for(self, user: User, kind: str) -> str | None:
        email = (user.email or "").strip()
        if not self.enabled() or not email or "@" not in email:
            return None
        return email

    def build(self, message: OutgoingMessage) -> EmailMessage:
        sender = setting("FORMWORK_SMTP_FROM", "formwork@localhost")
        mail = EmailMessage()
        mail["From"] = sender
        mail["To"] = message.recipient
        mail["Subject"] = message.subject or ""
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = message_id(message, sender)
        mail.set_content(message.body or "")
        return mail

    def send(self, message: OutgoingMessage) -> None:
        host = setting("FORMWORK_SMTP_HOST")
        if not host:
            raise ChannelNotConfigured("e-mail is not configured (FORMWORK_SMTP_HOST is empty)")
        port = int(setting("FORMWORK_SMTP_PORT", 25))
        timeout = float(setting("FORMWORK_SMTP_TIMEOUT", 10))
        use_ssl = bool(setting("FORMWORK_SMTP_SSL", False))
        smtp_class = smtplib.SMTP_SSL if use_ssl else smtplib.SMTP
        with smtp_class(host, port, timeout=timeout) as smtp:
            if not use_ssl and setting("FORMWORK_SMTP_STARTTLS", False):
                smtp.starttls(context=ssl.create_default_context())
            user = setting("FORMWORK_SMTP_USER")
            if user:
                smtp.login(user, setting("FORMWORK_SMTP_PASSWORD", ""))
            smtp.send_message(self.build(message))


def register_builtins(registry: Any) -> None:
    registry.add_channel(EmailChannel())


def channels() -> dict[str, Channel]:
    """Every registered channel by name (built-in and plugins)."""

    return current_registry().channels
