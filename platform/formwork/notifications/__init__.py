"""Notifications: in-app messages, the outbox of side effects, channels."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import cli, views
    from .service import unread_count

    app.register_blueprint(views.notifications_bp)
    app.cli.add_command(cli.outbox_cli)

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
