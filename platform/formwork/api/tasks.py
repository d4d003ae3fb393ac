"""Approval tasks through the API: my open tasks, one task, a decision, what I decided, out of office.

The same helpers serve the browser pages (``workflow.views``): reading a decision from
input (``parse_decision``), applying it through ``workflow.service.decide`` and turning
the runtime's refusals into statuses — 404 for a task that is not the caller's (never
revealing that it exists), 409 ``already decided`` for a task no longer open, 422 with
a message for a decision that cannot be made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import abort, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..workflow import batch, delegation, queries
from ..workflow.errors import InvalidDecision, NotYourTask, TaskClosed, WorkflowError
from ..workflow.models import OPEN
from ..workflow.service import MAX_COMMENT
from . import api_bp, error_response
from .records import json_body, page_arguments

ACTIONS = queries.DECISION_ACTIONS  # ``recall``: take back a task waiting for its delegate (委派)
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


def _resolve_user(value: Any, field_name: str) -> int:
    user = delegation.find_user(value)
    if user is None:
        raise DecisionInputError(_('There is no user "%(name)s".', name=str(value)[:80]), field_name)
    if not user.active:
        raise DecisionInputError(
            _("%(name)s is no longer active; choose someone else.", name=user.display_name), field_name
        )
    if user.id == current_user.id:
        raise DecisionInputError(_("Choose someone other than yourself."), field_name)
    return user.id


def parse_decision(raw: dict[str, Any]) -> Decision:
    """Check a decision's shape: known action, a person where one is needed, a valid position."""
    action = raw.get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        raise DecisionInputError(
            _(
                'Unknown action "%(action)s"; use one of: %(actions)s.',
                action=str(action)[:40],
                actions=", ".join(ACTIONS),
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
        decision.to_user_id = _resolve_user(to_user, "to_user")
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
    from ..workflow import service

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
    sort = request.args.get("sort") or "oldest"
    if sort not in queries.SORTS:
        abort(400, f'unknown sort "{sort[:40]}"; one of: {", ".join(queries.SORTS)}')
    query = queries.ListQuery(
        sort=sort,
        form_key=(request.args.get("form") or "").strip() or None,
        q=(request.args.get("q") or "").strip()[:200] or None,
        overdue=request.args.get("overdue") in ("1", "true", "yes"),
    )
    return query, page, per_page


@api_bp.get("/tasks")
@login_required
def list_tasks():
    query, page, per_page = _list_arguments()
    result = queries.inbox(current_user, query, page=page, per_page=per_page)
    return jsonify(
        {
            "items": [queries.task_json(row) for row in result.rows],
            "page": page,
            "per_page": per_page,
            "total": result.total,
            "counts": result.counts,
        }
    )


@api_bp.get("/tasks/decided")
@login_required
def list_decided():
    page, per_page = page_arguments()
    result = queries.decided_by(current_user, page=page, per_page=per_page)
    return jsonify(
        {
            "items": [queries.task_json(row) for row in result.rows],
            "page": page,
            "per_page": per_page,
            "total": result.total,
        }
    )


@api_bp.get("/tasks/<int:task_id>")
@login_required
def get_task(task_id: int):
    task = queries.task_for(current_user, task_id)
    if task is None:
        return error_response(404, "task not found")
    return jsonify(queries.task_detail_json(task, current_user))


@api_bp.post("/tasks/<int:task_id>/decision")
@login_required
def decide(task_id: int):
    body = json_body(frozenset({"action", "comment", "to_user", "step", "position", "attachments"}))
    try:
        decision = parse_decision(body)
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
            respond=lambda task: answer.update(queries.decision_json(task, current_user)),
        )
    except WorkflowError as exc:
        # Some input is refused before the task is loaded (a reject without a comment): on a task
        # that is not the caller's that, too, is a 404, so a refusal never tells that a task exists.
        if isinstance(exc, InvalidDecision) and queries.task_for(current_user, task_id) is None:
            return error_response(404, "task not found")
        return refusal_response(exc)
    return jsonify(answer)


@api_bp.post("/tasks/approve")
@login_required
def approve_many():
    """Approve several tasks, each in its own transaction: one result per task (``workflow.batch``)."""
    body = json_body(frozenset({"task_ids", "comment"}))
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        return error_response(422, '"comment" must be text', field="comment")
    if comment and len(comment) > MAX_COMMENT:
        return error_response(
            422, f"the comment is too long (at most {MAX_COMMENT} characters)", field="comment"
        )
    try:
        ids = batch.task_ids_from(body.get("task_ids"))
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
def upload_decision_attachment(task_id: int):
    """Store one file for the caller's coming decision on this task (multipart part ``file``).

    The file is the uploader's until their decision on this task's record names it in
    ``attachments``; nobody else can claim it, and another record or form field cannot either.
    """
    from ..records import attachments
    from .attachments import attachment_json

    task = queries.task_for(current_user, task_id)
    if task is None or task.assignee_id != current_user.id:
        return error_response(404, "task not found")
    if task.status != OPEN:
        return error_response(409, "already decided")
    if request.mimetype != "multipart/form-data":
        return error_response(415, 'send the file as multipart/form-data with the part "file"')
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return error_response(400, 'missing multipart part "file"', field="file")
    try:
        attachment = attachments.store_decision_file(upload, current_user, task.record)
    except attachments.UploadRefused as exc:
        return error_response(exc.status, exc.message, field="file")
    return jsonify(attachment_json(attachment)), 201


# ---- out of office ---------------------------------------------------------------------------


@api_bp.get("/me/out-of-office")
@login_required
def get_out_of_office():
    return jsonify(
        {"items": [delegation.delegation_json(row) for row in delegation.delegations_of(current_user)]}
    )


@api_bp.post("/me/out-of-office")
@login_required
def post_out_of_office():
    body = json_body(frozenset({"delegate", "starts_at", "ends_at"}))
    try:
        period = delegation.set_period(
            current_user, body.get("delegate"), body.get("starts_at"), body.get("ends_at")
        )
    except delegation.OutOfOfficeError as exc:
        return error_response(422, exc.message, field=exc.field)
    return jsonify(delegation.delegation_json(period)), 201


@api_bp.delete("/me/out-of-office")
@login_required
def delete_out_of_office():
    """Cancel every current and coming period (back in the office)."""
    cancelled = delegation.cancel(current_user)
    return jsonify({"cancelled": [row.id for row in cancelled]})


@api_bp.delete("/me/out-of-office/<int:delegation_id>")
@login_required
def delete_one_out_of_office(delegation_id: int):
    cancelled = delegation.cancel(current_user, delegation_id)
    if not cancelled:
        return error_response(404, "no such current or coming period")
    return jsonify({"cancelled": [row.id for row in cancelled]})
