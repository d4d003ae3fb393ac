"""Notifications: in-app messages, the outbox of side effects, channels, and due-time work."""

from __future__ import annotations

import os

from flask import Flask


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _settings() -> dict[str, object]:
    """Channel and worker settings from the environment (application config overrides them)."""
    env = os.environ.get
    return {
        # E-mail is on when a host is set; with none, nothing is enqueued for e-mail.
        "FORMWORK_SMTP_HOST": env("FORMWORK_SMTP_HOST", ""),
        "FORMWORK_SMTP_PORT": int(env("FORMWORK_SMTP_PORT") or 25),
        "FORMWORK_SMTP_USER": env("FORMWORK_SMTP_USER", ""),
        "FORMWORK_SMTP_PASSWORD": env("FORMWORK_SMTP_PASSWORD", ""),
        "FORMWORK_SMTP_STARTTLS": _flag(env("FORMWORK_SMTP_STARTTLS")),
        "FORMWORK_SMTP_SSL": _flag(env("FORMWORK_SMTP_SSL")),
        "FORMWORK_SMTP_FROM": env("FORMWORK_SMTP_FROM", "formwork@localhost"),
        "FORMWORK_SMTP_TIMEOUT": float(env("FORMWORK_SMTP_TIMEOUT") or 10),
        # Links in messages: https://formwork.example.com -> .../records/12
        "FORMWORK_BASE_URL": env("FORMWORK_BASE_URL", ""),
        "FORMWORK_OUTBOX_MAX_ATTEMPTS": int(env("FORMWORK_OUTBOX_MAX_ATTEMPTS") or 10),
        "FORMWORK_OUTBOX_RETRY_SECONDS": int(env("FORMWORK_OUTBOX_RETRY_SECONDS") or 60),
        "FORMWORK_OUTBOX_RETRY_MAX_SECONDS": int(env("FORMWORK_OUTBOX_RETRY_MAX_SECONDS") or 6 * 3600),
        "FORMWORK_OUTBOX_LEASE_SECONDS": int(env("FORMWORK_OUTBOX_LEASE_SECONDS") or 300),
    }


def init_app(app: Flask) -> None:
    from . import cli, views
    from .service import unread_count

    for key, value in _settings().items():
        app.config.setdefault(key, value)
    app.register_blueprint(views.notifications_bp)
    app.cli.add_command(cli.outbox_cli)
    app.cli.add_command(cli.due_cli)

    def unread_notifications() -> int:
        """For the navigation: the signed-in user's unread notification count (0 when signed out)."""
        from flask_login import current_user

        if not (current_user and current_user.is_authenticated):
            return 0
        try:
            return unread_count(current_user)
        except Exception:  # the bell must never break a page (an error page after a failed transaction)
            from ..extensions import db

            db.session.rollback()
            return 0

    app.jinja_env.globals["unread_notifications"] = unread_notifications
