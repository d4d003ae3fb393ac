"""Approval pages: the inbox, what I decided, my requests, a task with its decision controls,
withdrawing a request, the route and trail on a record's page, and out-of-office settings.

Pages work without JavaScript (plain forms, redirects after a decision); htmx swaps the
inbox list and the decision panel in place. A decision on a task that is no longer open
answers 409 and says "already decided"; a task that is not the viewer's is a 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from ..db_types import utcnow
from ..exports import records as exports
from ..extensions import db
from ..input_limits import page_number
from ..org.clock import as_utc
from ..records import access, listing
from ..records.attachments import UploadRefused, decision_limits, discard_unclaimed, store_decision_file
from ..records.models import STATUSES, Record
from ..records.queries import form_titles, record_display
from . import batch, delegation, my_requests, queries, reminders, request_views, service, summary
from .actions import RECALL, allowed_actions, can_withdraw, return_targets
from .decisions import DecisionInputError, apply_decision, parse_decision
from .errors import InvalidDecision, NotYourTask, TaskClosed, WorkflowError
from .history import return_reason, trail
from .labels import action_label, step_state_label
from .models import APPROVAL, OPEN, WAITING, Process, Task
from .route_diagram import route_view
from .runtime import load_route

workflow_bp = Blueprint("workflow", __name__)

SORT_LABELS = (("oldest", _l("Oldest first")), ("newest", _l("Newest first")), ("due", _l("Due soonest")))
# Form inputs that carry the person for each action (one form holds every action's controls).
USER_INPUTS = {"transfer": "transfer_to", "delegate": "delegate_to", "add_signer": "signer"}


def _per_page() -> int:
    return int(current_app.config.get("FORMWORK_PAGE_SIZE", 20))


def _pages(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


def _row_text() -> dict[str, str]:
    """Per-row texts of the inbox list, translated once per page (formats filled in the template)."""
    return {
        "step": _("Step: %(step)s"),
        "owner": _("From %(name)s"),
        "behalf": _("On behalf of %(name)s"),
        "waited": _("Waiting %(time)s"),
        "overdue": _("Overdue"),
        "due": _("Due %(when)s"),
        "open_task": _("Open task: %(title)s"),
        "open": _("Open"),
        "select": _("Select for approval: %(title)s"),
    }


def _tabs() -> dict[str, Any]:
    return {"open_count": queries.open_counts(current_user)["open"]}


# ---- lists -----------------------------------------------------------------------------------


def _inbox_context() -> dict[str, Any]:
    sort = request.args.get("sort") or "oldest"
    if sort not in queries.SORTS:
        sort = "oldest"
    query = queries.ListQuery(
        sort=sort,
        form_key=(request.args.get("form") or "").strip()[:100] or None,
        q=(request.args.get("q") or "").strip()[:200] or None,
        overdue=request.args.get("overdue") in ("1", "true", "yes", "on"),
    )
    page, per_page = page_number(request.args.get("page")), _per_page()
    result = queries.inbox(current_user, query, page=page, per_page=per_page)
    summary.add_summaries(result.rows)
    filters = {
        "q": query.q or "",
        "form": query.form_key or "",
        "sort": sort,
        "overdue": "1" if query.overdue else "",
    }
    return dict(
        tasks=result.rows,
        counts=result.counts,
        total=result.total,
        page=page,
        pages=_pages(result.total, per_page),
        filters=filters,
        link_filters={
            key: value
            for key, value in filters.items()
            if value and not (key == "sort" and value == "oldest")
        },
        sorts=SORT_LABELS,
        row_text=_row_text(),
        any_batchable=any(row.batchable for row in result.rows),
    )


def _inbox_page(context: dict[str, Any], *, status: int = 200, **extra: Any):
    return (
        render_template(
            "workflow/inbox.html",
            tab="inbox",
            titles=form_titles(),
            open_count=context["counts"]["open"],
            **context,
            **extra,
        ),
        status,
    )


@workflow_bp.get("/inbox", endpoint="inbox")
@login_required
def inbox_page():
    context = _inbox_context()
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "inbox-results":
        return render_template("workflow/_inbox_results.html", **context)
    return _inbox_page(context)


@workflow_bp.post("/inbox/approve")
@login_required
def approve_selected():
    """Approve the chosen rows, each in its own transaction, and show each one's result."""
    comment = (request.form.get("comment") or "").strip() or None
    try:
        ids = batch.task_ids_from(request.form.getlist("task_ids"))
    except batch.BatchRefused as exc:
        return _inbox_page(_inbox_context(), status=422, batch_error=exc.message)
    results = batch.approve_many(ids, current_user, comment)
    db.session.expire_all()
    # Titles of the caller's own tasks only: a wrong id must not reveal someone else's request.
    titles = dict(
        db.session.execute(
            select(Task.id, Record.title)
            .join(Record, Record.id == Task.record_id)
            .where(Task.id.in_(ids), Task.assignee_id == current_user.id)
        ).all()
    )
    for result in results:
        if result.status != 404:
            result.record_title = result.record_title or titles.get(result.task_id)
    return _inbox_page(_inbox_context(), batch_results=results)


@workflow_bp.get("/inbox/decided")
@login_required
def decided():
    page, per_page = page_number(request.args.get("page")), _per_page()
    result = queries.decided_by(current_user, page=page, per_page=per_page)
    return render_template(
        "workflow/decided.html",
        tab="decided",
        handed_on=queries.handed_on_by(current_user) if page == 1 else [],
        tasks=result.rows,
        total=result.total,
        page=page,
        pages=_pages(result.total, per_page),
        link_filters={},
        **_tabs(),
    )


@workflow_bp.get("/requests")
@login_required
def requests():
    """My requests: drafts and submitted ones in one list, with amount, status and who it waits on."""
    filters = my_requests.Filters.read(request.args)
    page, per_page = page_number(request.args.get("page")), _per_page()
    # A cursor carries the position; ``page`` beside it only numbers the page shown.
    kind = "requests-all" if filters.scope == "all" else "requests"  # two orders: a cursor fits one
    after = _cursor_position(request.args.get("cursor"), kind)
    if after is None and request.args.get("cursor"):
        page = 1  # a changed or made-up cursor: the first page
    result = my_requests.my_requests(current_user, filters, page=page, per_page=per_page, after=after)
    values = {
        "status": filters.status or "",
        "form": filters.form_key or "",
        "q": filters.q or "",
        "scope": "all" if filters.scope == "all" else "",
    }
    return render_template(
        "workflow/requests.html",
        tab="requests",
        items=result.rows,
        total=result.total,
        total_capped=result.capped,
        page=page,
        pages=_pages(result.total, per_page),
        following=page > 1,
        next_cursor=listing.encode_cursor(result.next_after, kind) if result.next_after else None,
        filters=values,
        link_filters={key: value for key, value in values.items() if value},
        statuses=STATUSES,
        titles=form_titles(),
        can_export=bool(filters.form_key) and exports.may_export(current_user, filters.form_key or ""),
        **_tabs(),
    )


def _cursor_position(text: str | None, kind: str) -> listing.After | None:
    """The position a page's ``?cursor=`` names; a missing, changed or made-up one shows page 1."""
    if not text:
        return None
    try:
        return listing.decode_cursor(text, kind)
    except listing.BadCursor:
        return None


def request_actions(record: Record) -> dict[str, bool]:
    """What the viewer may do with their own request here: delete (a draft), copy, remind (催办)."""
    if record.owner_id != current_user.id:
        return {}
    return {
        "can_delete": record.status == "draft" and not my_requests.has_process(record.id),
        "can_copy": record.status != "draft",
        "can_remind": record.status not in ("draft", "returned")
        and reminders.can_remind(record, current_user),
    }


# ---- one task --------------------------------------------------------------------------------


def _panel(task: Task) -> dict[str, Any]:
    row = queries.row_for(task)
    panel: dict[str, Any] = {
        "task_id": task.id,
        "open": task.status == OPEN and task.assignee_id == current_user.id and task.kind == APPROVAL,
        "step_name": row.step_name,
        "on_behalf_of": row.on_behalf_of,
        "waited": row.waited,
        "owner_name": row.owner_name,
    }
    panel["accept"], panel["max_size"] = decision_limits()
    if task.kind != APPROVAL:
        panel["closed_text"] = _("A copy for your information: nothing to decide.")
    elif panel["open"]:
        panel["actions"] = allowed_actions(task)
        panel["return_steps"] = return_targets(task) if "return" in panel["actions"] else []
        panel["reject_outcome"] = _reject_outcome(task, row.owner_name)
    elif task.status == OPEN:
        panel["closed_text"] = _("This task is now with someone else.")
    elif task.status == "waiting":
        panel["closed_text"] = _(
            "Waiting for the person you asked; the task comes back to you after their answer."
        )
        if task.assignee_id == current_user.id and RECALL in allowed_actions(task):
            panel["can_recall"] = True
    else:
        panel["closed_text"] = _(
            "This task is closed: %(decision)s.", decision=action_label(task.decision or task.status)
        )
    return panel


def _reject_outcome(task: Task, owner_name: str) -> str:
    """What a rejection does to the request here, said before the approver rejects."""
    if "transfer" not in allowed_actions(task):
        return ""  # an opinion: the task goes back to whoever asked (said in the panel)
    step = load_route(task.process).steps.get(task.step_key)
    if step is None:
        return ""
    if step.mode in ("any", "k_of_n", "percent"):
        prefix = _("Your rejection is one vote; once the step is rejected: ")
    else:
        prefix = ""
    if step.on_reject == "return_to_submitter":
        outcome = _("the request goes back to %(name)s to change and resubmit.", name=owner_name)
    elif step.on_reject == "return_to_step" and step.return_to:
        names = queries.step_names({task.process.route_id})
        name = names.get((task.process.route_id, step.return_to), step.return_to)
        outcome = _("the request goes back to the step “%(step)s”.", step=name)
    else:
        outcome = _(
            "the request ends, rejected, and %(name)s is told. To ask for changes instead, use Return.",
            name=owner_name,
        )
    return (prefix + outcome) if prefix else _("Rejecting: %(outcome)s", outcome=outcome)


def _task_page(
    task: Task,
    *,
    notice: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
):
    record = db.session.get_one(Record, task.record_id)
    context = record_display(record, current_user)
    return (
        render_template(
            "workflow/task.html",
            task=task,
            panel=_panel(task),
            notice=notice,
            values=values or {},
            route=route_view(record),
            entries=trail(record),
            summary=summary.summaries([record.id]).get(record.id) or summary.Summary(),
            budget=summary.budget_of(record, task.process.route_id),
            **context,
            **_tabs(),
        ),
        status,
    )


def _panel_fragment(
    task: Task, *, notice: dict[str, str] | None, values: dict[str, Any] | None = None, status: int = 200
):
    return render_template(
        "workflow/_decision_panel.html", panel=_panel(task), notice=notice, values=values or {}
    ), status


@workflow_bp.get("/tasks/<int:task_id>")
@login_required
def task(task_id: int):
    found = queries.task_for(current_user, task_id)
    if found is None:
        abort(404)
    return _task_page(found)


def _form_decision() -> dict[str, Any]:
    action = request.form.get("action", "")
    raw: dict[str, Any] = {"action": action, "comment": request.form.get("comment")}
    if action in USER_INPUTS:
        raw["to_user"] = request.form.get(USER_INPUTS[action]) or None
    if action == "add_signer":
        raw["position"] = request.form.get("position") or None  # required: before or after
    if action == "return":
        raw["step"] = request.form.get("step") or None
    return raw


def _store_decision_files(task: Task, stored: list[int]) -> None:
    """Store the files sent with a decision (unclaimed; the decision attaches them to the record).

    Each stored id is appended to ``stored`` at once, so a refusal part-way (or of the decision
    itself) lets the caller remove every file already written."""
    for upload in request.files.getlist("files"):
        if not upload or not upload.filename:
            continue
        stored.append(store_decision_file(upload, current_user, task.record).id)


@workflow_bp.post("/tasks/<int:task_id>/decision")
@login_required
def decide(task_id: int):
    found = queries.task_for(current_user, task_id)
    if found is None:
        abort(404)
    htmx = bool(request.headers.get("HX-Request"))
    raw = _form_decision()
    values = {**request.form.to_dict(), "action": raw.get("action")}

    def answer(notice: dict[str, str], status: int):
        db.session.expire_all()  # show the task as it is now, after whatever happened
        current = db.session.get_one(Task, task_id)
        if htmx:
            return _panel_fragment(current, notice=notice, values=values, status=status)
        return _task_page(current, notice=notice, values=values, status=status)

    recall = raw.get("action") == RECALL and found.status == WAITING
    if (found.status != OPEN and not recall) or found.assignee_id != current_user.id:
        return answer({"kind": "warning", "text": _("Already decided: this task is no longer open.")}, 409)
    try:
        decision = parse_decision(raw, current_user)
    except DecisionInputError as exc:
        return answer({"kind": "error", "text": exc.message}, 422)
    stored: list[int] = []
    try:
        _store_decision_files(found, stored)
        decision.attachment_ids = stored
        decided_task = apply_decision(task_id, current_user, decision)
    except BaseException as exc:
        # A refused decision keeps none of the files sent with it.
        discard_unclaimed(stored)
        if isinstance(exc, UploadRefused):
            return answer({"kind": "error", "text": exc.message}, 422)
        if isinstance(exc, TaskClosed):
            return answer(
                {"kind": "warning", "text": _("Already decided: this task is no longer open.")}, 409
            )
        if isinstance(exc, NotYourTask):
            abort(404)
        if isinstance(exc, (InvalidDecision, WorkflowError)):
            return answer({"kind": "error", "text": exc.message}, 422)
        raise
    flash(_("Done: %(action)s.", action=action_label(decision.action)), "success")
    # After a comment, or taking a delegated task back, the task is open here; anything else goes back to the
    # inbox.
    target = (
        url_for("workflow.task", task_id=decided_task.id)
        if decision.action in ("comment", RECALL)
        else url_for("workflow.inbox")
    )
    if htmx:
        # The whole page changed (route, trail, the inbox count): htmx loads the next page itself.
        return "", 204, {"HX-Redirect": target}
    return redirect(target, code=303)


# ---- withdraw --------------------------------------------------------------------------------


@workflow_bp.post("/records/<int:record_id>/withdraw")
@login_required
def withdraw(record_id: int):
    record = access.get_visible(current_user, record_id)
    if record is None:
        abort(404)
    try:
        service.withdraw(record, current_user)  # commits, or rolls back and raises WorkflowError
    except WorkflowError as exc:
        flash(exc.message, "error")
    else:
        flash(_("The request was withdrawn."), "success")
    return redirect(url_for("records.detail", record_id=record_id), code=303)


# ---- the approval part of a record's page ----------------------------------------------------


def approval_for(record: Record) -> dict[str, Any] | None:
    """Route, trail and the viewer's actions for a record's detail page; None when it never had a process."""
    has_process = db.session.scalar(select(Process.id).where(Process.record_id == record.id).limit(1))
    if has_process is None:
        return None
    # The viewer's open task, else one waiting for the person they delegated it to (to take it back).
    mine = dict(
        db.session.execute(
            select(Task.status, Task.id)
            .where(
                Task.record_id == record.id,
                Task.assignee_id == current_user.id,
                Task.status.in_((OPEN, WAITING)),
                Task.kind == APPROVAL,
            )
            .order_by(Task.id)
        ).all()
    )
    return {
        "current": queries.current_steps([record.id]).get(record.id, []),
        "my_task_id": mine.get(OPEN),
        "my_waiting_task_id": None if OPEN in mine else mine.get(WAITING),
        "can_withdraw": record.owner_id == current_user.id and can_withdraw(record),
        "route": route_view(record),
        "entries": trail(record),
    }


# ---- out of office ---------------------------------------------------------------------------


def _out_of_office_page(
    *, error: dict[str, str] | None = None, values: dict[str, str] | None = None, status: int = 200
):
    rows = delegation.delegations_of(current_user)
    now = utcnow()
    return (
        render_template(
            "workflow/out_of_office.html",
            tab="out_of_office",
            periods=rows,
            active_ids={row.id for row in rows if as_utc(row.starts_at) <= now < as_utc(row.ends_at)},
            error=error,
            values=values or {},
            **_tabs(),
        ),
        status,
    )


@workflow_bp.route("/settings/out-of-office", methods=["GET", "POST"], endpoint="out_of_office")
@login_required
def out_of_office_page():
    if request.method == "GET":
        return _out_of_office_page()
    values = {name: (request.form.get(name) or "").strip() for name in ("delegate", "starts_at", "ends_at")}
    try:
        delegation.set_period(
            current_user, values["delegate"] or None, values["starts_at"], values["ends_at"]
        )
    except delegation.OutOfOfficeError as exc:
        return _out_of_office_page(error={"text": exc.message, "field": exc.field}, values=values, status=422)
    flash(_("Saved. Tasks arriving in that period go to the person you chose."), "success")
    return redirect(url_for("workflow.out_of_office"), code=303)


@workflow_bp.post("/settings/out-of-office/<int:delegation_id>/cancel")
@login_required
def cancel_out_of_office(delegation_id: int):
    if not delegation.cancel(current_user, delegation_id):
        abort(404)
    flash(_("The period was cancelled."), "success")
    return redirect(url_for("workflow.out_of_office"), code=303)


# ---- wiring ----------------------------------------------------------------------------------


def inbox_open_count() -> int:
    """The signed-in person's open tasks, for the navigation badge (one query per request)."""
    if not getattr(current_user, "is_authenticated", False):
        return 0
    try:
        return queries.open_counts(current_user)["open"]
    except Exception:  # a badge must never break a page (e.g. an error page after a failed transaction)
        db.session.rollback()
        return 0


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        action_label=action_label,
        step_state_label=step_state_label,
        approval_for=approval_for,
        inbox_open_count=inbox_open_count,
        return_reason=return_reason,
        approvals_by_user=queries.approvals_by_user,
        request_actions=request_actions,
    )
    app.register_blueprint(workflow_bp)
    app.register_blueprint(request_views.requests_bp)
