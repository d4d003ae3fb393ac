"""The home page: what each person's roles need first — the cards of their home dashboard
(finance, department heads), their open and overdue approvals (approvers), their requests in
progress and where each waits (everyone) — then forms to start and recent records."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from ..dashboards import service as dashboards
from ..dashboards.published import dashboards_for
from ..dashboards.views import card_view
from ..extensions import db
from ..forms.views import available_forms
from ..i18n import current_locale_tag
from ..plugins import current_registry
from ..records.access import ADMINISTRATOR
from ..records.models import Record
from ..records.queries import form_titles
from ..workflow.queries import current_steps, open_counts

IN_PROGRESS = ("submitted", "in_review", "returned")

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
    in_progress = db.session.scalars(
        select(Record)
        .where(Record.owner_id == current_user.id, Record.status.in_(IN_PROGRESS))
        .order_by(Record.updated_at.desc(), Record.id.desc())
        .limit(RECENT)
    ).all()
    forms = available_forms()
    return render_template(
        "web/home.html",
        forms=forms,
        recent=recent,
        in_progress=in_progress,
        waiting=current_steps([r.id for r in in_progress]),
        tasks=open_counts(current_user),
        home=_home_dashboard(),
        titles=form_titles(),
        plugin_failures=_plugin_failures(),
    )


def _home_dashboard() -> dict | None:
    """The first home dashboard the person sees, with its cards for its period to date."""
    found = next((d for d in dashboards_for(current_user) if d.home), None)
    if found is None:
        return None
    locale = current_locale_tag()
    span = dashboards.window(found.period)
    cards = dashboards.cards(found, current_user, span, locale)
    return {
        "key": found.key,
        "title": found.title_for(locale),
        "label": span.label,
        "cards": [card_view(card, span, locale) for card in cards],
    }


def _plugin_failures() -> list[tuple[str, str]]:
    """Plugins skipped at start-up, shown to administrators (``formwork plugins list`` has the detail)."""
    if not current_user.has_role(ADMINISTRATOR):
        return []
    return list(current_registry().failed)
