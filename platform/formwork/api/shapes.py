"""The JSON shapes of the workflow's reads, as the API answers them: a task in a list and in
detail, the answer to a decision, a submitted request, a trail entry and a record's change.
The schemas they follow are declared beside the routes (``api.tasks``, ``api.records``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for

from .. import business_time
from ..org.clock import as_utc
from ..records.models import RecordEvent
from ..records.serialize import record_json
from ..workflow import queries
from ..workflow.actions import allowed_actions, return_targets, task_type
from ..workflow.history import TrailRow, history, trail
from ..workflow.models import Task
from ..workflow.queries import RequestRow, TaskRow


def _iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment else None


def task_json(row: TaskRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "kind": row.kind,
        "step": {"key": row.step_key, "name": row.step_name, "round": row.round},
        "record": {
            "id": row.record_id,
            "title": row.record_title,
            "form": row.form_key,
            "form_title": row.form_title,
            "status": row.record_status,
            "owner": {"id": row.owner_id, "display_name": row.owner_name},
        },
        "process_id": row.process_id,
        "on_behalf_of": row.on_behalf_of,
        "created_at": _iso(row.created_at),
        "due_at": _iso(row.due_at),
        "overdue": row.overdue,
        "waited_seconds": row.waited_seconds,
        "waited": row.waited,
        "decision": row.decision,
        "decided_at": _iso(row.decided_at),
        "comment": row.comment,
        "url": url_for("workflow.task", task_id=row.id),
    }


def task_detail_json(task: Task, user: Any) -> dict[str, Any]:
    body = task_json(queries.row_for(task))
    body["record"]["data"] = record_json(task.record, user).get("data")
    body["type"] = task_type(task)
    body["actions"] = list(allowed_actions(task))
    if "return" in body["actions"]:
        body["return_steps"] = [{"key": key, "name": name} for key, name in return_targets(task)]
    body["trail"] = [trail_json(entry) for entry in trail(task.record)]
    return body


def decision_json(task: Task, user: Any) -> dict[str, Any]:
    """The decided task, its process and record as they stand after the decision (``queries.decided``)."""
    row, current = queries.decided(task)
    process, record = task.process, task.record
    return {
        "task": task_json(row),
        "process": {"id": process.id, "status": process.status, "current": current},
        "record": {"id": record.id, "status": record.status},
    }


def request_json(row: RequestRow) -> dict[str, Any]:
    return {
        "record": {
            "id": row.record_id,
            "title": row.record_title,
            "form": row.form_key,
            "form_title": row.form_title,
        },
        "status": row.status,
        "submitted_at": _iso(row.submitted_at),
        "current": [
            {
                "step": {"key": step["key"], "name": step["name"]},
                "holders": [
                    {"id": uid, "display_name": name}
                    for uid, name in zip(step["holder_ids"], step["holders"], strict=True)
                ],
            }
            for step in row.current
        ],
    }


def trail_json(row: TrailRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": "approval",
        "at": row.at_iso,
        "action": row.action,
        "outcome": row.outcome,
        "actor": None if row.actor_id is None else {"id": row.actor_id, "display_name": row.actor_name},
        "on_behalf_of": None
        if row.on_behalf_of_name is None
        else {"id": row.on_behalf_of_id, "display_name": row.on_behalf_of_name},
        "step": None if row.step_key is None else {"key": row.step_key, "name": row.step_name},
        "comment": row.comment,
        "task_id": row.task_id,
        "details": row.details,
        "attachments": [
            {
                "id": f.id,
                "filename": f.filename,
                "size": f.size,
                "download_url": url_for("api.download_attachment", attachment_id=f.id),
            }
            for f in row.files
        ],
    }


def event_json(event: RecordEvent) -> dict[str, Any]:
    actor = event.actor
    return {
        "id": event.id,
        "kind": "change",
        "action": event.action,
        "at": business_time.iso_utc(event.at),
        "actor": None
        if actor is None
        else {"id": actor.id, "username": actor.username, "display_name": actor.display_name},
        "changes": event.changes,
        "comment": event.comment,
    }


def history_json(record: Any) -> list[dict[str, Any]]:
    """Record changes (``kind: "change"``) and the approval trail (``kind: "approval"``), oldest first."""
    return [
        event_json(item) if isinstance(item, RecordEvent) else trail_json(item) for item in history(record)
    ]
