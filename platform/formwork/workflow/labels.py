"""What the workflow's words are called in the interface language: actions and outcomes, a step's
state and approval mode, how long something has waited. Pages, the API, notices and printed
vouchers all use these."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from babel.dates import format_timedelta
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

# What a trail entry's action (or a step's or request's outcome) is called; anything else is
# shown as its action name. Pages, the decision notice and printed vouchers all use these.
ACTION_LABELS: dict[str, Any] = {
    "approve": _l("Approved"),
    "approved": _l("Approved"),
    "reject": _l("Rejected"),
    "rejected": _l("Rejected"),
    "return": _l("Returned"),
    "returned": _l("Returned"),
    "transfer": _l("Transferred"),
    "transferred": _l("Transferred"),
    "delegate": _l("Delegated"),
    "delegated": _l("Delegated"),
    "add_signer": _l("Added a signer"),
    "comment": _l("Commented"),
    "withdraw": _l("Withdrawn"),
    "withdrawn": _l("Withdrawn"),
    "submit": _l("Submitted"),
    "submitted": _l("Submitted"),
    "start": _l("Started"),
    "started": _l("Started"),
    "skip": _l("Skipped"),
    "skipped": _l("Skipped"),
    "auto_approve": _l("Approved automatically"),
    "auto_approved": _l("Approved automatically"),
    "auto_reject": _l("Rejected automatically"),
    "cc": _l("Copied"),
    "alert": _l("Alert"),
    "branch": _l("Route chosen"),
    "step_approved": _l("Step approved"),
    "step_rejected": _l("Step rejected"),
    "redirected_out_of_office": _l("Sent to the stand-in"),
    "recall": _l("Taken back"),
    "recalled": _l("Taken back"),
    "fallback": _l("Sent to the fallback approvers"),
    "sent_to_administrators": _l("No approver found; sent to administrators"),
    "not_auto_approved": _l("Not approved automatically: the earlier decision was handed over"),
    "escalated": _l("Escalated"),
    "reminded": _l("Reminder sent"),
    "cancelled": _l("Cancelled"),
    "hand_over": _l("Handed over: the person left"),
    "new_head": _l("Sent to the department's new head"),
    "role_granted": _l("Role granted"),
    "role_revoked": _l("Role revoked"),
    "role_not_held": _l("Role not held: nothing to revoke"),
}


def action_label(action: str | None) -> str:
    """An action or outcome in words, in the interface language."""
    if not action:
        return ""
    return str(ACTION_LABELS.get(action, action.replace("_", " ")))


def humanise(delta: timedelta) -> str:
    """``timedelta(days=3, hours=2)`` → "3 days" / "3天", in the interface language."""
    if delta < timedelta(minutes=1):
        return _("less than a minute")
    return format_timedelta(
        delta, granularity="minute", threshold=0.9, format="long", locale=str(get_locale() or "en")
    )


MODE_LABELS = {
    "all": lambda step: _("everyone must approve"),
    "any": lambda step: _("any one approves"),
    "k_of_n": lambda step: _("%(k)s must approve", k=step.k),
    "percent": lambda step: _("%(p)s per cent must approve", p=step.percent),
}
STEP_STATE_LABELS: dict[str, Any] = {
    "pending": _l("Not yet"),
    "active": _l("Waiting now"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "returned": _l("Returned"),
    "skipped": _l("Skipped"),
    "withdrawn": _l("Withdrawn"),
    "cancelled": _l("Cancelled"),
    "hand_over": _l("Handed over: the person left"),
    "new_head": _l("Sent to the department's new head"),
}


def step_state_label(state: str) -> str:
    return str(STEP_STATE_LABELS.get(state, state))
