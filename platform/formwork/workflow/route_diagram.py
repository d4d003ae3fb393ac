"""A request's route as a diagram: each step with its state and people, the branch taken, parallel
branches side by side, what is still ahead. The record and task pages draw it
(``_route_diagram.html``) and the API answers it as it is."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..i18n import current_locale_tag, localized
from ..org.models import User
from ..records.models import Record
from ..routes.model import Branch, Parallel
from .labels import MODE_LABELS, action_label
from .models import APPROVAL, OPEN, Process, Task
from .route_forecast import forecast
from .service import compiled_route, current_process

_Decider = aliased(User, name="decider")
STEP_STATES = ("pending", "active", "approved", "rejected", "returned", "skipped")
END_STATES = {
    "approved": "approved",
    "rejected": "rejected",
    "withdrawn": "withdrawn",
    "returned": "returned",
    "cancelled": "cancelled",
}


def route_view(record: Record, process: Process | None = None) -> dict[str, Any] | None:
    """The record's route as nested nodes with their states, for ``_route_diagram.html`` and the API.

    A step's state comes from the process position (pending, active, returned, approved,
    rejected, skipped); a branch says which case was taken; parallel branches are listed side
    by side. None when the record never entered a route. Three queries: the process, the
    route version (compiled once per version), the tasks.
    """
    process = process or current_process(record)
    if process is None:
        return None
    route = compiled_route(process.route)
    state = process.state or {}
    steps_state = state.get("steps", {})
    branch_state = state.get("branch", {})
    tag = current_locale_tag()
    holders: dict[str, list[str]] = {}
    deciders: dict[str, list[str]] = {}
    for step_key, status, decision, assignee, decider in db.session.execute(
        select(Task.step_key, Task.status, Task.decision, User.display_name, _Decider.display_name)
        .join(User, User.id == Task.assignee_id)
        .outerjoin(_Decider, _Decider.id == Task.decided_by_id)
        .where(Task.process_id == process.id, Task.kind == APPROVAL)
        .order_by(Task.created_at, Task.id)
    ):
        if status in (OPEN, "waiting"):
            holders.setdefault(step_key, []).append(assignee)
        elif decision in ("approve", "reject", "return") and decider:
            names = deciders.setdefault(step_key, [])
            if decider not in names:
                names.append(decider)

    ahead = forecast(record, process, route, steps_state)

    def convert(node: Any) -> dict[str, Any]:
        if isinstance(node, Parallel):
            return {
                "type": "parallel",
                "key": node.key,
                "branches": [[convert(n) for n in branch] for branch in node.branches],
            }
        if isinstance(node, Branch):
            chosen = branch_state.get(node.key)
            cases = [
                {
                    # The case's own words; a case without a name is numbered, never shown as code.
                    "label": localized(case.name, tag) if case.name else _("Case %(n)s", n=index + 1),
                    "condition": route.conditions.get(case.when, case.when),
                    "taken": None if chosen is None else chosen == index,
                    "nodes": [convert(n) for n in case.nodes],
                }
                for index, case in enumerate(node.cases)
            ]
            cases.append(
                {
                    "label": _("Otherwise"),
                    "taken": None if chosen is None else chosen == -1,
                    "nodes": [convert(n) for n in node.otherwise],
                }
            )
            return {"type": "branch", "key": node.key, "cases": cases}
        status = steps_state.get(node.key, {}).get("status", "pending")
        status = status if status in STEP_STATES else "pending"
        mode = MODE_LABELS.get(node.mode)
        guess = ahead.get(node.key)
        will_skip = status == "pending" and guess is not None and guess.skipped
        return {
            "type": "step",
            "key": node.key,
            "name": localized(node.name, tag) or node.key,
            "state": "skipped" if will_skip else status,
            "forecast": will_skip,  # skipped because the values decide it, not yet by the route
            "mode": node.mode,
            "mode_label": mode(node) if mode else None,
            "people": holders.get(node.key, []) if status == "active" else deciders.get(node.key, []),
            # Who will decide a step still ahead, as the organisation stands now.
            "expected": guess.expected if guess is not None and status == "pending" else [],
            "copied": guess.copied if guess is not None else [],
            # A conditional step says when it runs, so "not yet" is not read as "certainly next".
            "condition": route.conditions.get(node.when, node.when) if node.when else None,
            # ... in the words the route gives it (never the expression).
            "condition_label": localized(node.when_label, tag) if node.when and node.when_label else None,
            "outcome_label": localized(node.outcome, tag) if node.outcome and status == "approved" else None,
        }

    end_state = END_STATES.get(process.status, "pending")
    return {
        "process_id": process.id,
        "route": route.key,
        "title": localized(route.title, tag) or route.key,
        "version": process.route.version if process.route else None,
        "status": process.status,
        "nodes": [convert(node) for node in route.nodes],
        "end_state": end_state,
        "end_label": _("End") if end_state == "pending" else action_label(process.status),
    }
