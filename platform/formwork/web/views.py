"""The home page: forms to start and the user's recent records."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..forms.views import available_forms
from ..plugins import current_registry
from ..records.access import ADMINISTRATOR
from ..records.models import Record
from ..records.queries import form_titles

web_bp = Blueprint("web", __name__)
RECENT = 8


@web_bp.get("/")
@login_required
def home():
    recent = db.session.scalars(
        select(Record)
        .where(Record.owner_id == current_user.id)
        .order_by(Record.created_at.desc(), Record.id.desc())
        .limit(RECENT)
    ).all()
    forms = available_forms()
    return render_template(
        "web/home.html", forms=forms, recent=recent, titles=form_titles(), plugin_failures=_plugin_failures()
    )


def _plugin_failures() -> list[tuple[str, str]]:
    """Plugins skipped at start-up, shown to administrators (``formwork plugins list`` has the detail)."""
    if not current_user.has_role(ADMINISTRATOR):
        return []
    return list(current_registry().failed)
