"""Approval tasks through the API: my open tasks, one task, a decision, what I decided, out of office.

A decision is read and applied by ``workflow.decisions``, as on the pages; here the runtime's
refusals become statuses — 404 for a task that is not the caller's (never revealing that it
exists), 409 ``already decided`` for a task no longer open, 422 with a message for a decision
that cannot be made.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_login import current_user, login_required

from ..records import attachments
from ..workflow import batch, delegation, queries
from ..workflow.actions import DECISION_ACTIONS
from ..workflow.decisions import POSITIONS, DecisionInputError, apply_decision, parse_decision
from ..workflow.errors import InvalidDecision, NotYourTask, TaskClosed, WorkflowError
from ..workflow.models import OPEN
from ..workflow.service import MAX_COMMENT
from .attachments import ATTACHMENT, FILE_PART, attachment_json
from .blueprint import api_bp, error_response
from .records import PERSON
from .shapes import decision_json, task_detail_json, task_json
from .spec import (
    DATE_TIME,
    ID,
    MAX_ID,
    PAGING,
    USER_REF,
    Param,
    body,
    component,
    error,
    nullable,
    obj,
    operation,
    page_arguments,
    query_args,
    ref,
    reply,
)

NOT_FOUND = error("No such task among mine (a task of someone else's is a 404, never a 403).")
TASK_CLOSED = error(
    '"already decided": the task is no longer open (decided, transferred, or the request ended).'
)
SHORT_PERSON = obj({"id": ID, "display_name": {"type": "string"}})
STEP_REF = obj({"key": {"type": "string"}, "name": {"type": "string"}})
TASK_FIELDS: dict[str, Any] = {
    "id": ID,
    "status": {
        "type": "string",
        "examples": ["open", "waiting", "approved", "rejected", "returned", "transferred"],
    },
    "kind": {"type": "string", "enum": ["approval", "cc"]},
    "step": obj({"key": {"type": "string"}, "name": {"type": "string"}, "round": {"type": "integer"}}),
    "record": obj(
        {
            "id": ID,
            "title": nullable({"type": "string"}),
            "form": {"type": "string"},
            "form_title": {"type": "string"},
            "status": {"type": "string"},
            "owner": obj({"id": ID, "display_name": {"type": "string"}}),
            "data": {
                "type": "object",
                "description": "Only in GET /api/tasks/{task_id}: the record's data, filtered like "
                "GET /api/records/{id}.",
            },
        },
        optional=("data",),
    ),
    "process_id": ID,
    "on_behalf_of": nullable(
        {"type": "string", "description": "Whom the route meant, when someone else holds it."}
    ),
    "created_at": nullable(DATE_TIME),
    "due_at": nullable(DATE_TIME),
    "overdue": {"type": "boolean"},
    "waited_seconds": {"type": "integer"},
    "waited": {"type": "string", "description": "How long it has waited, in words in the caller's language."},
    "decision": nullable({"type": "string"}),
    "decided_at": nullable(DATE_TIME),
    "comment": nullable({"type": "string"}),
    "url": {"type": "string", "description": "The task's page in the browser."},
}
TASK = component("Task", obj(TASK_FIELDS))
component(
    "TrailEntry",
    obj(
        {
            "id": ID,
            "kind": {"const": "approval"},
            "at": nullable(DATE_TIME),
            "action": {
                "type": "string",
                "examples": ["submitted", "approve", "reject", "return", "transfer", "skipped"],
            },
            "actor": nullable({**SHORT_PERSON, "description": "null: the system (skips, timeouts)."}),
            "outcome": nullable(
                {"type": "string", "description": "The step's own word for an approval (e.g. Paid)."}
            ),
            "on_behalf_of": nullable(SHORT_PERSON),
            "step": nullable(STEP_REF),
            "comment": nullable({"type": "string"}),
            "task_id": nullable(ID),
            "details": {
                "description": "More about the entry (e.g. whom a task was transferred to), or null."
            },
            "attachments": {
                "type": "array",
                "items": obj(
                    {
                        "id": ID,
                        "filename": {"type": "string"},
                        "size": {"type": "integer"},
                        "download_url": {"type": "string"},
                    }
                ),
            },
        }
    ),
)
TASK_DETAIL = component(
    "TaskDetail",
    obj(
        {
            **TASK_FIELDS,
            "type": {
                "type": "string",
                "enum": ["main", "transfer", "delegate", "before", "after"],
                "description": "How the task came about: the route, transferred, asked for advice, a signer "
                "added before or after.",
            },
            "actions": {"type": "array", "items": {"type": "string", "enum": list(DECISION_ACTIONS)}},
            "return_steps": {
                "type": "array",
                "items": STEP_REF,
                "description": "When return is allowed: earlier steps it may return to.",
            },
            "trail": {"type": "array", "items": ref("TrailEntry")},
        },
        optional=("return_steps",),
    ),
)
TASK_PAGE = {
    "items": {"type": "array", "items": TASK},
    "page": {"type": "integer", "minimum": 1},
    "per_page": {"type": "integer", "minimum": 1},
    "total": {"type": "integer", "minimum": 0},
}
DECISION = component(
    "Decision",
    obj(
        {
            "action": {
                "type": "string",
                "enum": list(DECISION_ACTIONS),
                "description": "recall: on my task that waits for the person I delegated it to (委派), "
                "take it "
                "back before they decide.",
            },
            "comment": {
                "type": "string",
                "maxLength": MAX_COMMENT,
                "description": "Required to reject, return or comment.",
            },
            "to_user": {
                **USER_REF,
                "description": "transfer, delegate, add_signer: an active user's id or user name.",
            },
            "step": {
                "type": "string",
                "description": "return: an earlier step's key; omitted returns to the submitter.",
            },
            "position": {
                "type": "string",
                "enum": list(POSITIONS),
                "description": "add_signer (required): the signer signs before or after me.",
            },
            "attachments": {
                "type": "array",
                "items": ID,
                "maxItems": 100,
                "description": "Ids of files uploaded with POST /api/tasks/{task_id}/attachments.",
            },
        },
        optional=("comment", "to_user", "step", "position", "attachments"),
    ),
)
OUT_OF_OFFICE = component(
    "OutOfOffice",
    obj(
        {
            "id": ID,
            "delegate": PERSON,
            "starts_at": DATE_TIME,
            "ends_at": DATE_TIME,
            "active": {"type": "boolean"},
            "cancelled_at": nullable(DATE_TIME),
        }
    ),
)
CANCELLED = obj({"cancelled": {"type": "array", "items": ID}})


def refusal_response(exc: WorkflowError):
    if isinstance(exc, NotYourTask):
        return error_response(404, "task not found")
    if isinstance(exc, TaskClosed):
        return error_response(409, "already decided")
    if isinstance(exc, InvalidDecision):
        return error_response(422, exc.message)
    return error_response(exc.status, exc.message)


def _list_arguments() -> tuple[queries.ListQuery, int, int]:
    page, per_page = page_arguments()
    args = query_args()
    query = queries.ListQuery(
        sort=args["sort"],
        form_key=(args.get("form") or "").strip() or None,
        q=(args.get("q") or "").strip()[:200] or None,
        overdue=args.get("overdue", False),
    )
    return query, page, per_page


@api_bp.get("/tasks")
@login_required
@operation(
    "My open approval tasks, paginated, with counts (open, overdue).",
    tag="tasks",
    query={
        "sort": Param({"type": "string", "enum": list(queries.SORTS), "default": "oldest"}, "The order."),
        "form": Param({"type": "string"}, "Only tasks on records of this form key."),
        "q": Param(
            {"type": "string"}, "Search the record's title and searchable text (the first 200 characters)."
        ),
        "overdue": Param({"type": "boolean"}, "true (or 1): only tasks past their deadline."),
        **PAGING,
    },
    responses={
        200: reply(
            obj(
                {
                    **TASK_PAGE,
                    "counts": obj(
                        {"open": {"type": "integer"}, "overdue": {"type": "integer"}},
                        description="All my open tasks and how many are overdue (unfiltered).",
                    ),
                }
            ),
            "One page.",
        )
    },
)
def list_tasks():
    query, page, per_page = _list_arguments()
    result = queries.inbox(current_user, query, page=page, per_page=per_page)
    return jsonify(
        {
            "items": [task_json(row) for row in result.rows],
            "page": page,
            "per_page": per_page,
            "total": result.total,
            "counts": result.counts,
        }
    )


@api_bp.get("/tasks/decided")
@login_required
@operation(
    "Tasks I decided, latest first.",
    tag="tasks",
    query={**PAGING},
    responses={200: reply(obj(TASK_PAGE), "One page.")},
)
def list_decided():
    page, per_page = page_arguments()
    result = queries.decided_by(current_user, page=page, per_page=per_page)
    return jsonify(
        {
            "items": [task_json(row) for row in result.rows],
            "page": page,
            "per_page": per_page,
            "total": result.total,
        }
    )


@api_bp.get("/tasks/<int:task_id>")
@login_required
@operation(
    "One of my tasks (open or decided by me) with the record's data, what I may do and the trail.",
    tag="tasks",
    responses={200: reply(TASK_DETAIL, "The task."), 404: NOT_FOUND},
)
def get_task(task_id: int):
    task = queries.task_for(current_user, task_id)
    if task is None:
        return error_response(404, "task not found")
    return jsonify(task_detail_json(task, current_user))


@api_bp.post("/tasks/<int:task_id>/decision")
@login_required
@operation(
    "Act on my open task: approve, reject, return, transfer, delegate, add_signer or comment; "
    "or recall a task "
    "I delegated while the delegate has not decided.",
    tag="tasks",
    body=DECISION,
    responses={
        200: reply(
            obj(
                {
                    "task": TASK,
                    "process": obj(
                        {
                            "id": ID,
                            "status": {"type": "string"},
                            "current": {"type": "array", "items": {"type": "object"}},
                        },
                        closed=False,
                    ),
                    "record": obj({"id": ID, "status": {"type": "string"}}, closed=False),
                },
                closed=False,
            ),
            "Done; the task and where the request stands now.",
        ),
        404: NOT_FOUND,
        409: TASK_CLOSED,
        422: error(
            "The decision cannot be made (body fields that do not fit, a missing comment or person, "
            "an inactive "
            "user, a step that is not earlier); field names the input."
        ),
    },
)
def decide(task_id: int):
    try:
        decision = parse_decision(body(), current_user)
    except DecisionInputError as exc:
        # A task the caller cannot act on is a 404 before anything about the input is said.
        if queries.task_for(current_user, task_id) is None:
            return error_response(404, "task not found")
        return error_response(422, exc.message, field=exc.field)
    # ``service.decide`` loads and authorises the task itself (404 for anyone else's), so a
    # valid decision costs one authorisation, not two.
    answer: dict[str, Any] = {}
    try:
        apply_decision(
            task_id,
            current_user,
            decision,
            respond=lambda task: answer.update(decision_json(task, current_user)),
        )
    except WorkflowError as exc:
        # Some input is refused before the task is loaded (a reject without a comment): on a task
        # that is not the caller's that, too, is a 404, so a refusal never tells that a task exists.
        if isinstance(exc, InvalidDecision) and queries.task_for(current_user, task_id) is None:
            return error_response(404, "task not found")
        return refusal_response(exc)
    return jsonify(answer)


BATCH_RESULT = obj(
    {
        "task_id": ID,
        "ok": {"type": "boolean"},
        "status": {"type": "integer", "description": "The HTTP status a single decision would have had."},
        "record_id": ID,
        "error": {"type": "string", "description": "Why this task was not approved."},
    },
    optional=("record_id", "error"),
)


@api_bp.post("/tasks/approve")
@login_required
@operation(
    "Approve several of my open tasks at once, each in its own transaction, with one result per task.",
    description="Only tasks whose step allows it (no required approval comment) are approved; the "
    "others are refused one by one in the results, never all at once.",
    tag="tasks",
    body=obj(
        {
            "task_ids": {
                "type": "array",
                "items": {**ID, "maximum": MAX_ID},
                "minItems": 1,
                "maxItems": batch.MAX_BATCH,
                "description": "The tasks to approve, each once.",
            },
            "comment": {"type": "string", "maxLength": MAX_COMMENT},
        },
        optional=("comment",),
    ),
    responses={
        200: reply(
            obj(
                {
                    "results": {"type": "array", "items": BATCH_RESULT},
                    "approved": {"type": "integer", "minimum": 0},
                    "refused": {"type": "integer", "minimum": 0},
                }
            ),
            "One result per task, in the order given.",
        ),
    },
)
def approve_many():
    """Approve several tasks, each in its own transaction: one result per task (``workflow.batch``)."""
    fields = body()
    comment = fields.get("comment")
    try:
        ids = batch.task_ids_from(fields.get("task_ids"))
    except batch.BatchRefused as exc:
        return error_response(422, exc.message, field="task_ids")
    results = batch.approve_many(ids, current_user, (comment or "").strip() or None)
    return jsonify(
        {
            "results": [result.to_json() for result in results],
            "approved": sum(1 for result in results if result.ok),
            "refused": sum(1 for result in results if not result.ok),
        }
    )


@api_bp.post("/tasks/<int:task_id>/attachments")
@login_required
@operation(
    "Upload one file for my coming decision on this task; put the returned id in the decision's "
    "`attachments`.",
    description="Only my decision on this task's request can claim it; until then only I can read it. "
    "Limits: "
    "FORMWORK_DECISION_ACCEPT (default pdf, images, docx, xlsx, ofd, txt, csv, zip) and "
    "FORMWORK_DECISION_MAX_SIZE (default 10 MB).",
    tag="tasks",
    multipart=obj({"file": FILE_PART}),
    responses={
        201: reply(ATTACHMENT, 'Stored (its "field" is "$decision:<record id>").'),
        400: error('The "file" part is missing, or the file is empty.'),
        404: NOT_FOUND,
        409: TASK_CLOSED,
        413: error("The file is larger than decision files may be."),
        415: error("Not multipart/form-data, a type not accepted, or content not matching its name."),
    },
)
def upload_decision_attachment(task_id: int):
    """Store one file for the caller's coming decision on this task (multipart part ``file``).

    The file is the uploader's until their decision on this task's record names it in
    ``attachments``; nobody else can claim it, and another record or form field cannot either.
    """
    task = queries.task_for(current_user, task_id)
    if task is None or task.assignee_id != current_user.id:
        return error_response(404, "task not found")
    if task.status != OPEN:
        return error_response(409, "already decided")
    try:
        attachment = attachments.store_decision_file(request.files["file"], current_user, task.record)
    except attachments.UploadRefused as exc:
        return error_response(exc.status, exc.message, field="file")
    return jsonify(attachment_json(attachment)), 201


# ---- out of office ---------------------------------------------------------------------------


@api_bp.get("/me/out-of-office")
@login_required
@operation(
    "My current and coming out-of-office periods.",
    tag="me",
    responses={200: reply(obj({"items": {"type": "array", "items": OUT_OF_OFFICE}}), "Periods.")},
)
def get_out_of_office():
    return jsonify(
        {"items": [delegation.delegation_json(row) for row in delegation.delegations_of(current_user)]}
    )


@api_bp.post("/me/out-of-office")
@login_required
@operation(
    "Set a period: tasks arriving for me in it go to the delegate. Dates cover whole days.",
    tag="me",
    body=obj(
        {
            "delegate": {**USER_REF, "description": "User id or user name."},
            "starts_at": {"type": "string", "description": "ISO date (first day) or date-time."},
            "ends_at": {"type": "string", "description": "ISO date (last day, inclusive) or date-time."},
        }
    ),
    responses={
        201: reply(OUT_OF_OFFICE, "Saved."),
        422: error(
            "A bad period or delegate (inactive, myself, overlapping, already over); field names the input."
        ),
    },
)
def post_out_of_office():
    fields = body()
    try:
        period = delegation.set_period(
            current_user, fields["delegate"], fields["starts_at"], fields["ends_at"]
        )
    except delegation.OutOfOfficeError as exc:
        return error_response(422, exc.message, field=exc.field)
    return jsonify(delegation.delegation_json(period)), 201


@api_bp.delete("/me/out-of-office")
@login_required
@operation(
    "Cancel all my current and coming periods (back in the office).",
    tag="me",
    responses={200: reply(CANCELLED, "The cancelled periods' ids.")},
)
def delete_out_of_office():
    """Cancel every current and coming period (back in the office)."""
    cancelled = delegation.cancel(current_user)
    return jsonify({"cancelled": [row.id for row in cancelled]})


@api_bp.delete("/me/out-of-office/<int:delegation_id>")
@login_required
@operation(
    "Cancel one of my current or coming periods.",
    tag="me",
    responses={200: reply(CANCELLED, "Cancelled."), 404: error("No such current or coming period of mine.")},
)
def delete_one_out_of_office(delegation_id: int):
    cancelled = delegation.cancel(current_user, delegation_id)
    if not cancelled:
        return error_response(404, "no such current or coming period")
    return jsonify({"cancelled": [row.id for row in cancelled]})
