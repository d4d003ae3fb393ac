"""The approval trail as printed rows: step, who, decision, when, comment, on behalf of whom."""

from __future__ import annotations

from dataclasses import dataclass

from ..formatting import format_datetime_value
from ..records.models import Record
from ..workflow.history import trail
from ..workflow.labels import action_label

APPROVING = ("approve", "approved", "auto_approve")


@dataclass
class TrailRow:
    step_key: str | None
    step: str
    name: str
    action: str
    decision: str
    time: str
    comment: str
    on_behalf_of: str
    person: bool = True  # False for a row the system wrote (a step passed, a branch chosen)


def trail_rows(record: Record) -> list[TrailRow]:
    """Every trail entry of ``record`` as printable text (``workflow.history.trail``, oldest first)."""
    return [
        TrailRow(
            step_key=entry.step_key,
            step=entry.step_name or "",
            name=entry.actor_name if entry.actor_id is not None else "",
            action=entry.action,
            decision=action_label(entry.action),
            time=format_datetime_value(entry.at),
            comment=entry.comment or "",
            on_behalf_of=entry.on_behalf_of_name or "",
            person=entry.actor_id is not None,
        )
        for entry in trail(record)
    ]
