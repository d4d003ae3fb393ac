"""Requests through the API: what I submitted and where each stands, a request's route, withdrawing.

The approval trail itself is part of ``GET /api/records/{id}/history`` (``api.records``),
merged with the record's own changes in time order (``workflow.history``).
"""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user, login_required

from ..records.models import STATUSES
from ..workflow import queries, service
from ..workflow.errors import WorkflowError
from ..workflow.route_diagram import route_view
from .blueprint import api_bp, error_response
from .records import NOT_FOUND, visible_or_404
from .shapes import request_json
from .spec import (
    DATE_TIME,
    ID,
    PAGING,
    Param,
    component,
    error,
    nullable,
    obj,
    operation,
    page_arguments,
    query_args,
    reply,
)

ROUTE_DIAGRAM = component(
    "RouteDiagram",
    obj(
        {
            "process_id": ID,
            "route": {"type": "string", "description": "The route's key."},
            "title": {"type": "string", "description": "The route's title in the caller's language."},
            "version": nullable({"type": "integer", "description": "The route version the request runs on."}),
            "status": {"type": "string"},
            "nodes": {"type": "array", "items": {"$ref": "#/components/schemas/RouteNode"}},
            "end_state": {
                "type": "string",
                "enum": ["pending", "approved", "rejected", "withdrawn", "returned", "cancelled"],
            },
            "end_label": {"type": "string"},
        }
    ),
)
NODES = {"type": "array", "items": {"$ref": "#/components/schemas/RouteNode"}}
component(
    "RouteNode",
    {
        "description": "A step, parallel branches side by side, or a conditional branch with its cases.",
        "oneOf": [
            obj(
                {
                    "type": {"const": "step"},
                    "key": {"type": "string"},
                    "name": {"type": "string"},
                    "state": {"enum": ["pending", "active", "approved", "rejected", "returned", "skipped"]},
                    "mode": {"type": "string"},
                    "mode_label": nullable({"type": "string"}),
                    "forecast": {
                        "type": "boolean",
                        "description": "True when the step is shown skipped because the request's values "
                        "already rule it out, before the route reaches it.",
                    },
                    "people": {"type": "array", "items": {"type": "string"}},
                    "expected": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Who would decide a step still ahead, as the organisation stands now.",
                    },
                    "copied": {"type": "array", "items": {"type": "string"}},
                    "condition": nullable({"type": "string"}),
                    "condition_label": nullable(
                        {"type": "string", "description": "When the step runs, in the route's words."}
                    ),
                    "outcome_label": nullable({"type": "string"}),
                }
            ),
            obj(
                {
                    "type": {"const": "parallel"},
                    "key": {"type": "string"},
                    "branches": {"type": "array", "items": NODES},
                }
            ),
            obj(
                {
                    "type": {"const": "branch"},
                    "key": {"type": "string"},
                    "cases": {
                        "type": "array",
                        "items": obj(
                            {
                                "label": {"type": "string"},
                                "condition": {"type": "string"},
                                "taken": nullable({"type": "boolean"}),
                                "nodes": NODES,
                            },
                            optional=("condition",),
                        ),
                    },
                }
            ),
        ],
    },
)
SHORT_RECORD = {
    "id": ID,
    "title": nullable({"type": "string"}),
    "form": {"type": "string"},
    "form_title": {"type": "string"},
}


@api_bp.post("/records/<int:record_id>/withdraw")
@login_required
@operation(
    "Withdraw my request: by default while nobody has acted on it; a route's `withdraw` setting may allow it "
    "until the request ends, or never.",
    tag="requests",
    responses={
        200: reply(
            obj({"record": obj({"id": ID, "status": {"type": "string"}}), "route": nullable(ROUTE_DIAGRAM)}),
            "Withdrawn.",
        ),
        403: error("Only the submitter can withdraw."),
        404: NOT_FOUND,
        409: error(
            "It can no longer be withdrawn (someone has acted, the route does not allow it, "
            "or it is not under review)."
        ),
    },
)
def withdraw_record(record_id: int):
    record = visible_or_404(record_id)
    if record.owner_id != current_user.id:
        return error_response(403, "only the submitter can withdraw a request")
    try:
        service.withdraw(record, current_user)  # commits, or rolls back and raises WorkflowError
    except WorkflowError as exc:
        return error_response(409 if exc.status == 422 else exc.status, exc.message)
    return jsonify({"record": {"id": record.id, "status": record.status}, "route": route_view(record)})


@api_bp.get("/records/<int:record_id>/route")
@login_required
@operation(
    "The request's route with each step's state (for a diagram).",
    tag="requests",
    responses={
        200: reply(ROUTE_DIAGRAM, "The route."),
        404: error("No such record in my scope, or it has no approval process."),
    },
)
def record_route(record_id: int):
    record = visible_or_404(record_id)
    diagram = route_view(record)
    if diagram is None:
        return error_response(404, "this record has no approval process")
    return jsonify(diagram)


@api_bp.get("/requests")
@login_required
@operation(
    "What I submitted and where each stands (current steps and who holds them), latest first.",
    tag="requests",
    query={
        "status": Param({"type": "string", "enum": list(STATUSES)}, "Only requests in this status."),
        **PAGING,
    },
    responses={
        200: reply(
            obj(
                {
                    "items": {
                        "type": "array",
                        "items": obj(
                            {
                                "record": obj(SHORT_RECORD),
                                "status": {"type": "string", "enum": list(STATUSES)},
                                "submitted_at": nullable(DATE_TIME),
                                "current": {
                                    "type": "array",
                                    "items": obj(
                                        {
                                            "step": obj(
                                                {"key": {"type": "string"}, "name": {"type": "string"}}
                                            ),
                                            "holders": {
                                                "type": "array",
                                                "items": obj({"id": ID, "display_name": {"type": "string"}}),
                                            },
                                        }
                                    ),
                                },
                            }
                        ),
                    },
                    "page": {"type": "integer", "minimum": 1},
                    "per_page": {"type": "integer", "minimum": 1},
                    "total": {"type": "integer", "minimum": 0},
                }
            ),
            "One page.",
        )
    },
)
def list_requests():
    status = query_args().get("status")
    page, per_page = page_arguments()
    result = queries.submitted_by(current_user, status=status, page=page, per_page=per_page)
    return jsonify(
        {
            "items": [request_json(row) for row in result.rows],
            "page": page,
            "per_page": per_page,
            "total": result.total,
        }
    )
