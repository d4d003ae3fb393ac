"""webhook_channel: notifications posted to a WeCom / DingTalk-style group robot.

A group robot is a URL that accepts ``POST`` with a JSON body such as
``{"msgtype": "text", "text": {"content": "..."}}`` and shows the text in a group chat
(企业微信群机器人; DingTalk's custom robot takes the same shape). The channel is off
until a URL is configured; which notifications go to the group is configured by
recipient (users and roles) and by kind. Settings (environment variables, or the same
keys in the application configuration):

- ``FORMWORK_WEBHOOK_URL`` — the robot's URL (``http`` or ``https``).
- ``FORMWORK_WEBHOOK_USERS`` — comma-separated user names whose notifications are posted.
- ``FORMWORK_WEBHOOK_ROLES`` — comma-separated role keys; holders' notifications are posted.
  With neither set, every recipient's notifications are posted.
- ``FORMWORK_WEBHOOK_KINDS`` — comma-separated notification kinds (default: all).
- ``FORMWORK_WEBHOOK_TIMEOUT`` — seconds to wait for the robot (default 10).

Messages go through the outbox like e-mail, so an unreachable robot is retried and
nothing is lost. The outbox row's recipient is the user name the message is about;
the URL is read at delivery time, so it is not copied into every row.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from formwork.notifications.channels import Channel, ChannelNotConfigured, OutgoingMessage

NAME = "webhook"


def _setting(name: str, default: str = "") -> str:
    # Every FORMWORK_* environment variable is in the application configuration (formwork.config).
    value = current_app.config.get(name)
    return str(value) if value not in (None, "") else default


def _names(name: str) -> set[str]:
    return {part.strip() for part in _setting(name).split(",") if part.strip()}


class WebhookChannel(Channel):
    """Posts each message as a text message to the configured group robot."""

    name = NAME

    def address_for(self, user: Any, kind: str) -> str | None:
        if not _setting("FORMWORK_WEBHOOK_URL"):
            return None
        kinds = _names("FORMWORK_WEBHOOK_KINDS")
        if kinds and kind not in kinds:
            return None
        users, roles = _names("FORMWORK_WEBHOOK_USERS"), _names("FORMWORK_WEBHOOK_ROLES")
        if (users or roles) and user.username not in users and not (roles & user.role_keys()):
            return None
        return user.username

    def body(self, message: OutgoingMessage) -> dict[str, Any]:
        """The robot's text message: the subject, then the body."""
        content = "\n".join(part for part in (message.subject, message.body) if part)
        return {"msgtype": "text", "text": {"content": content}}

    def send(self, message: OutgoingMessage) -> None:
        url = _setting("FORMWORK_WEBHOOK_URL")
        if not url:
            raise ChannelNotConfigured("the webhook channel has no FORMWORK_WEBHOOK_URL")
        if urlsplit(url).scheme not in ("http", "https"):
            raise ChannelNotConfigured("FORMWORK_WEBHOOK_URL must be an http or https URL")
        request = urllib.request.Request(
            url,
            data=json.dumps(self.body(message), ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        timeout = float(_setting("FORMWORK_WEBHOOK_TIMEOUT", "10") or 10)
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            raw = response.read(65536)
        # Robots answer 200 with {"errcode": 0} on success and a non-zero errcode on refusal.
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            return
        if isinstance(answer, dict) and answer.get("errcode") not in (None, 0):
            raise RuntimeError(
                f"the webhook refused the message: errcode {answer.get('errcode')}: {answer.get('errmsg')}"
            )


def load(registry: Any) -> None:
    registry.add_channel(WebhookChannel())
