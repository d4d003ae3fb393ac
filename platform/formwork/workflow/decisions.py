"""A decision on a task, from the page's form or the API's JSON body alike: reading it from input
(``parse_decision``, a 422 ``DecisionInputError`` naming the field at fault) and applying it
through ``service.decide``, which commits it once or rolls back a refusal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from . import delegation, service
from .actions import DECISION_ACTIONS
from .errors import InvalidDecision
from .service import MAX_COMMENT

# Actions that name another person, and the one that names a position.
NEEDS_USER = ("transfer", "delegate", "add_signer")
POSITIONS = ("before", "after")


class DecisionInputError(InvalidDecision):
    """Input that cannot become a decision (422); ``field`` names the input at fault."""


@dataclass
class Decision:
    """A decision as read from a form or a JSON body, checked for shape (the runtime checks the rest)."""

    action: str
    comment: str | None = None
    to_user_id: int | None = None
    step_key: str | None = None
    position: str | None = None
    attachment_ids: list[int] = field(default_factory=list)


def _resolve_user(value: Any, field_name: str, deciding: Any) -> int:
    user = delegation.find_user(value)
    if user is None:
        raise DecisionInputError(_('There is no user "%(name)s".', name=str(value)[:80]), field_name)
    if not user.active:
        raise DecisionInputError(
            _("%(name)s is no longer active; choose someone else.", name=user.display_name), field_name
        )
    if user.id == deciding.id:
        raise DecisionInputError(_("Choose someone other than yourself."), field_name)
    return user.id


def parse_decision(raw: dict[str, Any], user: Any) -> Decision:
    """Check the shape of ``user``'s decision: known action, a person where one is needed (never
    ``user``), a valid position."""
    action = raw.get("action")
    if not isinstance(action, str) or action not in DECISION_ACTIONS:
        raise DecisionInputError(
            _(
                'Unknown action "%(action)s"; use one of: %(actions)s.',
                action=str(action)[:40],
                actions=", ".join(DECISION_ACTIONS),
            ),
            "action",
        )
    comment = raw.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise DecisionInputError(_("A comment must be text."), "comment")
    comment = (comment or "").strip() or None
    if comment and len(comment) > MAX_COMMENT:
        raise DecisionInputError(_("A comment can be at most %(n)s characters.", n=MAX_COMMENT), "comment")
    if action == "comment" and not comment:
        raise DecisionInputError(_("Write a comment."), "comment")
    decision = Decision(action=action, comment=comment)
    if action in NEEDS_USER:
        to_user = raw.get("to_user")
        if to_user in (None, ""):
            raise DecisionInputError(_("Choose a person."), "to_user")
        decision.to_user_id = _resolve_user(to_user, "to_user", user)
    if action == "add_signer":
        # No default: "before" and "after" do different things, so the caller says which.
        position = raw.get("position")
        if position in (None, ""):
            raise DecisionInputError(
                _("Choose where the added signer signs: before or after you."), "position"
            )
        if position not in POSITIONS:
            raise DecisionInputError(
                _("Choose where the added signer signs: before or after you."), "position"
            )
        decision.position = position
    if action == "return":
        step = raw.get("step")
        if step not in (None, "") and not isinstance(step, str):
            raise DecisionInputError(_("Choose an earlier step to return the request to."), "step")
        decision.step_key = step or None
    attachments = raw.get("attachments") or []
    if not isinstance(attachments, list) or not all(
        isinstance(item, int) and not isinstance(item, bool) for item in attachments
    ):
        raise DecisionInputError(_("Attachments are given as a list of file ids."), "attachments")
    decision.attachment_ids = list(dict.fromkeys(attachments))
    return decision


def apply_decision(task_id: int, user: Any, decision: Decision, respond: Any = None):
    """Run the decision through the runtime, which commits it once (and rolls back any refusal).

    ``respond(task)`` runs inside the decision's transaction, before the commit."""
    return service.decide(
        task_id,
        user,
        decision.action,
        comment=decision.comment,
        attachment_ids=decision.attachment_ids or None,
        to_user_id=decision.to_user_id,
        step_key=decision.step_key,
        position=decision.position,
        respond=respond,
    )
