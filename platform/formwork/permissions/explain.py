"""Explain: which grant, scope and rule let a person see a record, or see, mask or write a field — or why not.

Every reason names where it was written (permission key, version, JSON pointer, and the
line when the source is at hand), so an administrator can go straight to it.
``explain_record`` and ``explain_field`` take the same inputs as the enforcing code
(``scopes``, ``field_rights``) and call it, so what they say is what is enforced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from .field_rights import field_right, standing
from .model import APPROVER, EVERYONE, OWNER, Origin, PolicySet, Right
from .scopes import Basis, bases, basis_misses
from .subject import OrgTree, RecordFacts, Subject


@dataclass(frozen=True)
class Reason:
    """One sentence of an explanation; ``origin`` where it comes from (None: a built-in rule)."""

    message: str
    origin: Origin | None = None
    decisive: bool = False  # this reason decides the answer

    def as_dict(self) -> dict:
        return {
            "message": self.message,
            "decisive": self.decisive,
            "origin": self.origin.as_dict() if self.origin else None,
        }

    def __str__(self) -> str:
        mark = "* " if self.decisive else "- "
        return mark + self.message + (f"  [{self.origin.describe()}]" if self.origin else "")


@dataclass(frozen=True)
class Explanation:
    question: str
    answer: str
    allowed: bool
    reasons: tuple[Reason, ...]

    def as_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "allowed": self.allowed,
            "reasons": [r.as_dict() for r in self.reasons],
        }

    def text(self) -> str:
        return "\n".join([f"{self.question}: {self.answer}", *(str(r) for r in self.reasons)])


def _grant_reasons(
    subject: Subject, policies: PolicySet, record: RecordFacts, tree: OrgTree, operation: str
) -> tuple[list[Reason], list[Basis]]:
    reasons: list[Reason] = []
    seeing: list[Basis] = []
    held = subject.roles
    for grant in policies.grants:
        if not grant.allows(operation):
            continue
        if grant.role not in held:
            reasons.append(
                Reason(f"does not hold {grant.role}, which is granted: {grant.describe()}", grant.origin)
            )
    for basis in bases(subject, policies, operation):
        why_not = basis_misses(subject, basis, record, tree)
        label = basis.grant.describe()
        if basis.holding.department_id is not None and basis.holding.role != EVERYONE:
            label += f" (held for {tree.codes.get(basis.holding.department_id, basis.holding.department_id)})"
        if why_not is None:
            seeing.append(basis)
            reasons.append(Reason(f"{operation} through {label}", basis.grant.origin, decisive=True))
        else:
            reasons.append(Reason(f"not through {label}: {why_not}", basis.grant.origin))
    return reasons, seeing


def explain_record(
    subject: Subject,
    policies: PolicySet,
    record: RecordFacts,
    tree: OrgTree,
    *,
    operation: str = "view",
    approver_steps: Iterable[str] = (),
    participant: bool = False,
) -> Explanation:
    """May ``subject`` ``operation`` ``record``, and why (or why not)."""
    question = f"may {subject.username} {operation} record {record.id} ({record.form_key})"
    if not policies:
        return Explanation(
            question,
            "no permission definition covers this form",
            False,
            (Reason(f"no permission definition is published for {record.form_key} or for every form (*)"),),
        )
    reasons, seeing = _grant_reasons(subject, policies, record, tree, operation)
    steps = sorted(approver_steps)
    if operation == "view" and steps:
        reasons.append(Reason(f"has an open task on the record at step {', '.join(steps)}", decisive=True))
    if operation == "view" and participant:
        reasons.append(Reason("was asked to act on the record earlier, or was told about it", decisive=True))
    reasons.sort(key=lambda r: not r.decisive)  # what decides first, then what did not apply
    allowed = bool(seeing) or (operation == "view" and bool(steps or participant))
    if not allowed and not reasons:
        reasons.append(Reason(f"no grant of {record.form_key} allows {operation}"))
    answer = "yes" if allowed else "no: outside every scope (the record does not exist for this person)"
    return Explanation(question, answer, allowed, tuple(reasons))


def explain_field(
    subject: Subject,
    policies: PolicySet,
    record: RecordFacts,
    tree: OrgTree,
    form: Any,
    path: str,
    *,
    approver_steps: Iterable[str] = (),
    participant: bool = False,
    current_steps: Iterable[str] = (),
) -> Explanation:
    """What ``subject`` may do with field ``path`` of ``record`` (form: ``forms.model.FormModel``)."""
    field_model = form.field(path)
    question = f"what may {subject.username} do with {path} of record {record.id}"
    if field_model is None:
        return Explanation(question, "no such field", False, (Reason(f"{form.key} has no field {path!r}"),))
    record_part = explain_record(
        subject, policies, record, tree, approver_steps=approver_steps, participant=participant
    )
    place = standing(
        subject,
        policies,
        record,
        tree,
        approver_steps=approver_steps,
        participant=participant,
        current_steps=current_steps,
    )
    right = field_right(policies, place, field_model)
    reasons = list(record_part.reasons)
    if not place.visible:
        return Explanation(question, "hidden: the record is not visible", False, tuple(reasons))
    for role_right in right.by_role:
        decisive = right.decided_by is role_right
        who = {OWNER: "as owner", APPROVER: "as approver", EVERYONE: "as anyone who sees it"}.get(
            role_right.role, f"as {role_right.role}"
        )
        if role_right.rule is not None:
            reasons.append(
                Reason(
                    f"{who}: {role_right.right.word} by rule {role_right.rule.describe()}",
                    role_right.rule.origin,
                    decisive,
                )
            )
        else:
            default = (
                "write (the owner edits a draft or returned record)"
                if role_right.right == Right.WRITE
                else "read"
            )
            reasons.append(Reason(f"{who}: {default}, no field rule applies (default)", None, decisive))
    if right.limited_by:
        reasons.append(Reason(f"limited to {right.right.word}: {right.limited_by}", None, True))
    answer = right.right.word
    if right.right == Right.MASKED and right.mask is not None:
        answer += f" ({right.mask.describe()})"
    return Explanation(question, answer, right.right > Right.HIDDEN, tuple(reasons))
