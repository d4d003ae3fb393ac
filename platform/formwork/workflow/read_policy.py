"""The permission definitions' read side, as ``records.access`` asks for it.

It lives in the workflow because a person's field rights on a record depend on their tasks
(the steps of their open tasks, whether they acted on it earlier) and the steps the record is
at; the scopes and rights themselves come from ``permissions``. Everything is read per call,
so a department move, a new role or a publish counts from the next request.

Search: ``search_text`` holds every field's text, so for a form whose permission definitions
hide or mask any field for anyone, text search reads only the record's title — a hidden or
masked value can never be found by searching for it. Other forms search both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select

from ..definitions import store
from ..definitions.models import DefinitionVersion
from ..extensions import db
from ..forms import catalogue
from ..permissions.access import RightsReader, record_rights
from ..permissions.field_rights import FieldRights
from ..permissions.model import PolicySet, Right
from ..permissions.published import current_policies, policies_for
from ..permissions.scopes import CustomFilterNotWired, records_filter_parts
from ..permissions.subject import OrgTree, Subject
from ..records.models import DRAFT, Record, RecordReader
from ..request_memo import keep_after_commit, once, recall
from .models import OPEN, Task

log = logging.getLogger(__name__)


def _covered() -> dict[str, PolicySet]:
    """Form key → the policies in force for it, for every current form some definition covers
    (read once per request)."""
    return once("covered forms", _read_covered, tables=("definition_versions",))


def _read_covered() -> dict[str, PolicySet]:
    policies = current_policies()
    if not policies:
        return {}
    found = {}
    for version in store.list_current("form"):
        chosen = PolicySet.of(version.key, policies)
        if chosen:
            found[version.key] = chosen
    return found


def _form_keys() -> list[str]:
    """Every form key a record can have: the keys of the form versions ever published."""
    return list(
        db.session.scalars(
            select(DefinitionVersion.key)
            .where(DefinitionVersion.kind == "form")
            .distinct()
            .order_by(DefinitionVersion.key)
        )
    )


@dataclass(frozen=True)
class TaskStanding:
    """What a person's tasks on a record say about their field rights on it."""

    approver_steps: frozenset[str]  # the steps of their open tasks
    participant: bool  # acted on it earlier, or was told about it
    current_steps: frozenset[str]  # the steps the record is at


def _standing(user_id: int | None, on_record: list[Any], told: bool) -> TaskStanding:
    """One record's standing from its tasks and whether the person was told about it."""
    mine = [t for t in on_record if user_id in (t.assignee_id, t.intended_id)]
    return TaskStanding(
        approver_steps=frozenset(t.step_key for t in mine if t.status == OPEN and t.assignee_id == user_id),
        participant=any(t.status != OPEN for t in mine) or told,
        current_steps=frozenset(t.step_key for t in on_record if t.status == OPEN),
    )


_NEW_RECORD = "tasks of a record created in this request"


def note_new_record(record: Record, tasks: list[Task], told: set[int]) -> None:
    """What the transaction creating ``record`` gave it: every task on it and who was told about it.

    Kept for the rest of the request once that transaction commits (``request_memo``), so the
    answer to the submission is built without reading back what was just written; a later
    write of tasks or readers in the same request forgets it."""
    keep_after_commit((_NEW_RECORD, record.id), (list(tasks), frozenset(told)), ("tasks", "record_readers"))


def task_standing(user_id: int | None, record: Record) -> TaskStanding:
    """One record's ``TaskStanding``: its tasks, each carrying whether the person was told about
    it, in one statement (a second only when the record has no task; none for a record this
    request created, ``note_new_record``)."""
    fresh = recall((_NEW_RECORD, record.id))
    if fresh is not None:
        tasks, told = fresh
        return _standing(user_id, tasks, user_id in told)
    told = (
        select(RecordReader.record_id)
        .where(RecordReader.record_id == record.id, RecordReader.user_id == user_id)
        .exists()
    )
    tasks = db.session.execute(
        select(Task.step_key, Task.status, Task.assignee_id, Task.intended_id, told.label("told")).where(
            Task.record_id == record.id
        )
    ).all()
    if tasks:
        was_told = bool(tasks[0].told)
    elif record.status == DRAFT:
        was_told = False  # a draft was never submitted: nobody was asked about it or told of it
    else:
        was_told = bool(db.session.scalar(select(told)))
    return _standing(user_id, list(tasks), was_told)


def task_standings(user_id: int | None, records: list[Record]) -> dict[int, TaskStanding]:
    """Each record's ``TaskStanding`` for one person, in two queries whatever the number of records."""
    ids = [record.id for record in records]
    tasks = db.session.execute(
        select(Task.record_id, Task.step_key, Task.status, Task.assignee_id, Task.intended_id).where(
            Task.record_id.in_(ids)
        )
    ).all()
    readers = set(
        db.session.scalars(
            select(RecordReader.record_id).where(
                RecordReader.record_id.in_(ids), RecordReader.user_id == user_id
            )
        )
    )
    by_record: dict[int, list[Any]] = {record_id: [] for record_id in ids}
    for task in tasks:
        by_record[task.record_id].append(task)
    return {
        record_id: _standing(user_id, on_record, record_id in readers)
        for record_id, on_record in by_record.items()
    }


class PermissionReadPolicy:
    """``records.access.ReadPolicy`` over the published permission definitions."""

    def scope(self, user: Any, own: ColumnElement[bool]) -> ColumnElement[bool] | None:
        parts = self.scope_parts(user, own)
        return None if parts is None else or_(*parts)

    def scope_parts(self, user: Any, own: ColumnElement[bool]) -> list[ColumnElement[bool]] | None:
        """The scope as one condition per form and basis (and the own records of the forms no
        definition covers), each narrow enough for an index of its own."""
        covered = _covered()
        if not covered:
            return None
        tree = OrgTree.load()
        subject = Subject.load(user, tree)
        parts: list[ColumnElement[bool]] = []
        for form_key, policies in covered.items():
            try:
                conditions = records_filter_parts(subject, policies, "view", tree=tree)
            except CustomFilterNotWired as exc:
                # Never evaluated row by row: until filters compile to SQL, lists keep the
                # person's own records of this form and the detail page decides per record.
                log.error("%s", exc)
                conditions = [own]
            parts.extend(and_(Record.form_key == form_key, condition) for condition in conditions)
        # The person's own records of the other forms, named rather than "not covered" (a
        # record's form key is that of its definition version), so the condition is an index
        # range, not a walk through every record of theirs.
        uncovered = [key for key in _form_keys() if key not in covered]
        if uncovered:
            parts.append(and_(Record.form_key.in_(uncovered), own))
        return parts

    def rights(self, user: Any, record: Record) -> FieldRights | None:
        if not policies_for(record.form_key):
            # No definition covers the form: today's rules, and no need of its compiled form
            # (a stored record stays readable while its form cannot be compiled, e.g. in safe mode).
            return None
        if record.id is None:  # a record about to be created: nobody has a task on it yet
            standing = TaskStanding(frozenset(), False, frozenset())
        else:
            standing = task_standing(getattr(user, "id", None), record)
        return record_rights(
            user,
            record,
            catalogue.compiled_form(record.definition),
            approver_steps=standing.approver_steps,
            participant=standing.participant,
            current_steps=standing.current_steps,
        )

    def rights_many(self, user: Any, records: list[Record]) -> dict[int, FieldRights | None]:
        """``rights`` of each record (an export's chunk): the person, the tree, the policies and the
        tasks are read once for all of them."""
        reader = RightsReader(user)
        covered = [r for r in records if reader.policies(r.form_key)]
        standings = task_standings(getattr(user, "id", None), covered) if covered else {}
        found: dict[int, FieldRights | None] = {record.id: None for record in records}
        for record in covered:
            place = standings[record.id]
            found[record.id] = reader.rights(
                record,
                catalogue.compiled_form(record.definition),
                approver_steps=place.approver_steps,
                participant=place.participant,
                current_steps=place.current_steps,
            )
        return found

    def unsearchable_forms(self) -> list[str]:
        return [
            key
            for key, policies in _covered().items()
            if any(rule.right in (Right.HIDDEN, Right.MASKED) for rule in policies.field_rules)
        ]
