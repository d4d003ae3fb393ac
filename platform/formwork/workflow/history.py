"""A record's history: the approval trail (who did what at which step, with their comment and
files), why a returned request came back, and the trail merged with the record's own changes in
time order. The pages, the API and printed vouchers all read the trail from here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import aliased

from ..definitions.models import DefinitionVersion
from ..extensions import db
from ..i18n import current_locale_tag, localized
from ..input_limits import row_id
from ..org.clock import as_utc
from ..org.models import User
from ..records.access import can_see
from ..records.models import Attachment, Record, RecordEvent
from ..records.queries import events_of
from ..routes.store import compiled_route
from .models import Process, TrailEntry
from .queries import step_names


@dataclass
class TrailRow:
    id: int
    at: datetime
    action: str
    actor_name: str
    actor_id: int | None
    on_behalf_of_name: str | None
    on_behalf_of_id: int | None
    step_key: str | None
    step_name: str | None
    comment: str | None
    task_id: int | None
    details: dict[str, Any]
    files: list[Attachment] = field(default_factory=list)
    target_name: str | None = None
    outcome: str | None = None  # the step's own word for an approval (the cashier's: paid)

    @property
    def at_iso(self) -> str:
        return as_utc(self.at).isoformat()

    @property
    def badge(self) -> str:
        return {
            "approve": "approved",
            "approved": "approved",
            "reject": "rejected",
            "rejected": "rejected",
            "return": "returned",
            "returned": "returned",
            "withdraw": "withdrawn",
            "withdrawn": "withdrawn",
        }.get(self.action, "pending")


def trail(record: Record) -> list[TrailRow]:
    """The record's approval trail, oldest first: three queries whatever its length."""
    actor = aliased(User, name="actor")
    behalf = aliased(User, name="behalf")
    result = db.session.execute(
        select(TrailEntry, actor.display_name, behalf.display_name, Process.route_id)
        .join(Process, Process.id == TrailEntry.process_id)
        .outerjoin(actor, actor.id == TrailEntry.actor_id)
        .outerjoin(behalf, behalf.id == TrailEntry.on_behalf_of_id)
        .where(TrailEntry.record_id == record.id)
        .order_by(TrailEntry.at, TrailEntry.id)
    ).all()
    if not result:
        return []
    names = step_names({route_id for *_rest, route_id in result})
    outcomes = _outcomes({route_id for *_rest, route_id in result})
    file_ids = {found for entry, *_ in result for i in (entry.attachment_ids or []) if (found := row_id(i))}
    files = (
        {a.id: a for a in db.session.scalars(select(Attachment).where(Attachment.id.in_(file_ids)))}
        if file_ids
        else {}
    )
    # Transfers, delegations and added signers name a person in ``details["to"]``; returns a step key.
    people_ids = {
        (entry.details or {}).get("to")
        for entry, *_ in result
        if isinstance((entry.details or {}).get("to"), int)
        and not isinstance((entry.details or {}).get("to"), bool)
    }
    people = (
        dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(people_ids))).all())
        if people_ids
        else {}
    )
    rows = []
    for entry, actor_name, behalf_name, route_id in result:
        details = entry.details or {}
        target = details.get("to")
        if isinstance(target, int) and not isinstance(target, bool):
            target_name = people.get(target)
        elif target == "submitter":
            target_name = _("the submitter")
        elif isinstance(target, str):
            target_name = names.get((route_id, target), target)
        else:
            target_name = None
        rows.append(
            TrailRow(
                id=entry.id,
                at=entry.at,
                action=entry.action,
                actor_name=actor_name or _("System"),
                actor_id=entry.actor_id,
                on_behalf_of_name=behalf_name
                if entry.on_behalf_of_id and entry.on_behalf_of_id != entry.actor_id
                else None,
                on_behalf_of_id=entry.on_behalf_of_id,
                step_key=entry.step_key,
                step_name=names.get((route_id, entry.step_key), entry.step_key) if entry.step_key else None,
                comment=entry.comment,
                task_id=entry.task_id,
                details=details,
                files=[files[found] for i in (entry.attachment_ids or []) if (found := row_id(i)) in files],
                target_name=target_name,
                outcome=outcomes.get((route_id, entry.step_key or ""))
                if entry.action in _APPROVALS
                else None,
            )
        )
    return rows


_APPROVALS = ("approve", "approved", "step_approved", "auto_approved")


def _outcomes(route_ids: set[int]) -> dict[tuple[int, str], str]:
    """(route version, step key) → the step's outcome word in the interface language, where it has one."""
    tag = current_locale_tag()
    found: dict[tuple[int, str], str] = {}
    for route_id in route_ids:
        # Usually held already: ``step_names`` has just read the same versions.
        version = db.session.get(DefinitionVersion, route_id)
        if version is None:
            continue
        try:
            steps = compiled_route(version).steps
        except Exception:  # a version that no longer compiles keeps the plain words
            continue
        for key, step in steps.items():
            if step.outcome:
                found[(version.id, key)] = localized(step.outcome, tag)
    return found


def visible_trail(user: Any, record: Record) -> list[TrailRow] | None:
    """``trail(record)`` for someone allowed to see the record, else None."""
    return trail(record) if can_see(user, record) else None


def return_reason(record: Record) -> dict[str, Any] | None:
    """Why a returned request came back (who, when, their comment), for the top of its edit page."""
    if record is None or record.status != "returned":
        return None
    entry = db.session.scalars(
        select(TrailEntry)
        .where(TrailEntry.record_id == record.id, TrailEntry.action.in_(("return", "reject")))
        .order_by(TrailEntry.id.desc())
        .limit(1)
    ).first()
    if entry is None:
        return None
    return {
        "name": entry.actor.display_name if entry.actor is not None else _("The system"),
        "at": entry.at,
        "comment": entry.comment or "",
        "action": entry.action,
    }


def history(record: Record) -> list[RecordEvent | TrailRow]:
    """The record's changes (creation, edits, submission) and its approval trail, oldest first."""
    changes: list[RecordEvent | TrailRow] = list(events_of(record))
    # Stable: at equal times a change (e.g. the submission) comes before what it caused.
    return sorted(
        changes + list(trail(record)),
        key=lambda item: (_moment(item.at), 0 if isinstance(item, RecordEvent) else 1),
    )


def _moment(moment: datetime | None) -> datetime:
    return as_utc(moment) if moment is not None else datetime.min.replace(tzinfo=timezone.utc)
