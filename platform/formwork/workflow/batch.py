"""Approving several tasks at once (批量审批), for the inbox and ``POST /api/tasks/approve``.

Each task goes through ``service.decide`` exactly as a single approval does, in its own
transaction: one refused or already-decided task leaves the others decided, and every task gets
its own result. Only tasks whose step lets an approval go without a comment can be chosen; the
service checks that again (``approve_comment: required``), so a batch can never skip a step's rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext

from ..extensions import db
from . import service
from .errors import InvalidDecision, NotYourTask, TaskClosed, WorkflowError
from .models import APPROVAL

MAX_BATCH = 100  # one screenful of a long inbox; more is a mistake, not a batch


class BatchRefused(InvalidDecision):
    """The batch as a whole cannot be read (no tasks, too many, not numbers)."""


@dataclass
class BatchResult:
    task_id: int
    ok: bool
    status: int  # as the single decision would answer: 200, 404, 409, 422
    message: str
    record_id: int | None = None
    record_title: str | None = None

    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {"task_id": self.task_id, "ok": self.ok, "status": self.status}
        if self.ok:
            result["record_id"] = self.record_id
        else:
            result["error"] = self.message
        return result


def task_ids_from(values: Any) -> list[int]:
    """The chosen task ids, in order and each once; ``BatchRefused`` for anything else."""
    if not isinstance(values, (list, tuple)) or not values:
        raise BatchRefused(gettext("Choose at least one task."), "task_ids")
    ids: list[int] = []
    for value in values:
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())
        ):
            raise BatchRefused(gettext("Task ids must be whole numbers."), "task_ids")
        number = int(value)
        if number not in ids:
            ids.append(number)
    if len(ids) > MAX_BATCH:
        raise BatchRefused(gettext("Approve at most %(n)s tasks at once.", n=MAX_BATCH), "task_ids")
    return ids


def batchable(kind: str, step: Any) -> bool:
    """Whether a task of this kind at this route step may be approved in a batch."""
    return kind == APPROVAL and step is not None and step.approve_comment != "required"


def approve_many(task_ids: list[int], user: Any, comment: str | None = None) -> list[BatchResult]:
    """Approve each task in its own transaction; one result per task, in the order given."""
    results = []
    for task_id in task_ids:
        try:
            task = service.decide(task_id, user, "approve", comment=comment)
        except WorkflowError as exc:
            db.session.rollback()
            if isinstance(exc, NotYourTask):
                results.append(BatchResult(task_id, False, 404, gettext("Not found in your tasks.")))
            elif isinstance(exc, TaskClosed):
                results.append(BatchResult(task_id, False, 409, gettext("Already decided.")))
            else:
                results.append(BatchResult(task_id, False, exc.status, exc.message))
            continue
        except Exception:
            db.session.rollback()
            raise
        record = task.record
        results.append(
            BatchResult(
                task_id,
                True,
                200,
                gettext("Approved."),
                record_id=record.id,
                record_title=record.title,
            )
        )
    return results
