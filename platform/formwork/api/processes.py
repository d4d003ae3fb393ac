"""Requests through the API: what I submitted and where each stands, a request's route, withdrawing.

The approval trail itself is part of ``GET /api/records/{id}/history`` (``api.records``),
merged with the record's own changes in time order by ``history_items`` here.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import abort, jsonify, request
from flask_login import current_user, login_required

from ..records.models import STATUSES, Record
from ..workflow import queries
from ..workflow.errors import WorkflowError
from . import api_bp, error_response
from .records import page_arguments, visible_or_404


def apply_withdraw(record: Record, user: Any) -> None:
    """Withdraw through the runtime (which commits, or rolls back and raises ``WorkflowError``)."""
    from ..workflow import service

    service.withdraw(record, user)


@api_bp.post("/records/<int:record_id>/withdraw")
@login_required
def withdraw_record(record_id: int):
    record = visible_or_404(record_id)
    if record.owner_id != current_user.id:
        return error_response(403, "only the submitter can withdraw a request")
    try:
        apply_withdraw(record, current_user)
    except WorkflowError as exc:
        return error_response(409 if exc.status == 422 else exc.status, exc.message)
    return jsonify(
        {"record": {"id": record.id, "status": record.status}, "route": queries.route_view(record)}
    )


@api_bp.get("/records/<int:record_id>/route")
@login_required
def record_route(record_id: int):
    record = visible_or_404(record_id)
    diagram = queries.route_view(record)
    if diagram is None:
        return error_response(404, "this record has no approval process")
    return jsonify(diagram)


@api_bp.get("/requests")
@login_required
def list_requests():
    status = request.args.get("status") or None
    if status and status not in STATUSES:
        abort(400, f'unknown status "{status[:40]}"; one of: {", ".join(STATUSES)}')
    page, per_page = page_arguments()
    result = queries.submitted_by(current_user, status=status, page=page, per_page=per_page)
    return jsonify(
        {
            "items": [queries.request_json(row) for row in result.rows],
            "page": page,
            "per_page": per_page,
            "total": result.total,
        }
    )


def history_items(record: Record, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Record changes (``kind: "change"``) and the approval trail (``kind: "approval"``), oldest first."""
    trail = [queries.trail_json(row) for row in queries.trail(record)]
    changes = [{**event, "kind": "change"} for event in events]
    # Stable: at equal times a change (e.g. the submission) comes before what it caused.
    return sorted(
        changes + trail, key=lambda item: (_moment(item["at"]), 0 if item["kind"] == "change" else 1)
    )


def _moment(text: str | None) -> datetime:
    if not text:
        return datetime.min.replace(tzinfo=timezone.utc)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
