"""Field rights: what one person may do with each field of one record, now.

**The combination rule** (docs/permissions.md):

1. Only the roles through which the person sees *this* record count: the roles of the grants
   whose scope reaches it (``scopes.bases_seeing``), ``owner`` when it is theirs,
   ``approver`` while they have an open task on it, and ``everyone`` when they see it only
   because they were asked to act on it earlier or told about it. A role that does not
   see the row contributes nothing — no column of a row is shown through a role that
   cannot see the row.
2. Each of those roles gets one right per field: the **last** matching field rule naming
   that role; if none, the last matching rule naming ``everyone``; if none, the default —
   ``write`` for the owner while the record is a draft or returned (an input field),
   ``read`` otherwise. A rule matches a field when it names it, its line-items field, or
   ``*``; it matches the moment when the record is in one of its ``status`` and at one of
   its ``steps`` (for ``approver``: the person's own open task is at one of them).
3. The person gets the **highest** of those rights (hidden < masked < read < write); between
   two masks, the one that shows more.
4. Then limits that hold whatever the rules say: ``write`` only through the owner, an
   approver, or a grant with the ``edit`` operation (otherwise ``read``); a computed field
   is never written; a line-item field never has more than its line-items field
   (hidden lines hide every column); a field that cannot be masked (an attachment, a person,
   a choice…) is hidden where a rule would mask it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from ..forms.model import schema_path
from ..records.models import EDITABLE_STATUSES
from .masking import mask_value
from .model import (
    APPROVER,
    DEFAULT_MASK,
    EVERYONE,
    OWNER,
    UNMASKABLE_TYPES,
    FieldRule,
    Mask,
    PolicySet,
    Right,
)
from .scopes import Basis, bases_seeing
from .subject import OrgTree, RecordFacts, Subject


@dataclass(frozen=True)
class Standing:
    """A person's place on one record: what makes them see it, and where the record stands."""

    status: str
    bases: tuple[Basis, ...] = ()  # grants whose scope reaches the record (``scopes.bases_seeing``)
    owner: bool = False
    approver_steps: frozenset[str] = frozenset()  # steps of the person's open tasks on the record
    participant: bool = False  # asked to act on it earlier, or told about it (record readers)
    current_steps: frozenset[str] = frozenset()  # the route steps the record is at now

    @property
    def visible(self) -> bool:
        return bool(self.bases or self.approver_steps or self.participant)

    def roles(self) -> tuple[str, ...]:
        """The roles that see the record, each once, in a stable order (grants first)."""
        seen: list[str] = []
        for basis in self.bases:
            if basis.grant.role not in seen:
                seen.append(basis.grant.role)
        if self.visible and self.owner:
            seen.append(OWNER)
        if self.approver_steps:
            seen.append(APPROVER)
        if self.visible and not seen:
            seen.append(EVERYONE)
        return tuple(seen)

    def may_write_through(self, role: str) -> bool:
        if role == OWNER or role == APPROVER:
            return True
        return any(b.grant.role == role and "edit" in b.grant.operations for b in self.bases)


@dataclass(frozen=True)
class RoleRight:
    """One role's right for one field, and the rule that gave it (None: the default)."""

    role: str
    right: Right
    mask: Mask | None
    rule: FieldRule | None


@dataclass(frozen=True)
class FieldRight:
    """The person's right for one field: the deciding role's, after the limits of step 4."""

    path: str
    right: Right
    mask: Mask | None = None
    decided_by: RoleRight | None = None  # None: the record is not visible at all
    by_role: tuple[RoleRight, ...] = ()
    limited_by: str | None = None  # why the right is lower than the rules gave, if it is


def _steps_match(rule: FieldRule, role: str, standing: Standing) -> bool:
    if rule.steps is None:
        return True
    steps = standing.approver_steps if role == APPROVER else standing.current_steps
    return bool(rule.steps & steps)


def _matching(
    rules: Iterable[FieldRule], role: str, path: str, standing: Standing, tier: str
) -> FieldRule | None:
    chosen = None
    for rule in rules:
        if (
            tier in rule.roles
            and rule.covers(path)
            and (rule.statuses is None or standing.status in rule.statuses)
            and _steps_match(rule, role if tier != EVERYONE else EVERYONE, standing)
        ):
            chosen = rule  # the last matching rule wins
    return chosen


def role_right(
    rules: tuple[FieldRule, ...], role: str, path: str, standing: Standing, accepts_input: bool
) -> RoleRight:
    """Step 2 of the combination rule, for one role and one field."""
    for tier in (role, EVERYONE) if role != EVERYONE else (EVERYONE,):
        rule = _matching(rules, role, path, standing, tier)
        if rule is not None:
            return RoleRight(role, rule.right, rule.mask if rule.right == Right.MASKED else None, rule)
    if role == OWNER and standing.status in EDITABLE_STATUSES and accepts_input:
        return RoleRight(role, Right.WRITE, None, None)
    return RoleRight(role, Right.READ, None, None)


def _combine(rights: list[RoleRight]) -> RoleRight:
    best = rights[0]
    for candidate in rights[1:]:
        if candidate.right > best.right:
            best = candidate
        elif candidate.right == best.right == Right.MASKED:
            if (candidate.mask or DEFAULT_MASK).reveals > (best.mask or DEFAULT_MASK).reveals:
                best = candidate
    return best


def field_right(policies: PolicySet, standing: Standing, field_model: Any) -> FieldRight:
    """The person's right for one field (a ``forms.model.FieldModel``) of the record."""
    path = field_model.path
    if not standing.visible:
        return FieldRight(path, Right.HIDDEN, limited_by="the record is not visible to this person")
    rules = policies.field_rules
    accepts_input = not field_model.is_computed
    per_role = [role_right(rules, role, path, standing, accepts_input) for role in standing.roles()]
    best = _combine(per_role)
    right, mask, limited = best.right, best.mask, None
    if right == Right.WRITE:
        writers = [r for r in per_role if r.right == Right.WRITE and standing.may_write_through(r.role)]
        if not accepts_input:
            right, limited = Right.READ, "a computed field is never written"
        elif not writers:
            right, limited = Right.READ, "no role that may edit this record gives write"
        else:
            best = writers[0]
    if field_model.parent is not None:
        parent = field_right(policies, standing, field_model.parent)
        if parent.right < right:
            right, limited = (
                parent.right,
                f"the line items ({field_model.parent.path}) are {parent.right.word}",
            )
            mask = parent.mask or (DEFAULT_MASK if right == Right.MASKED else None)
    if right == Right.MASKED and field_model.type.name in UNMASKABLE_TYPES and not field_model.is_lines:
        right, limited = Right.HIDDEN, f"a {field_model.type.name} field cannot be masked, so it is hidden"
    if right == Right.MASKED and mask is None:
        mask = DEFAULT_MASK
    return FieldRight(path, right, mask if right == Right.MASKED else None, best, tuple(per_role), limited)


@dataclass(frozen=True)
class FieldRights:
    """Every field's right for one person on one record, and what follows for its data."""

    rights: Mapping[str, FieldRight]
    visible: bool
    lines: frozenset[str] = field(default_factory=frozenset)  # paths of line-items fields

    def right(self, path: str) -> Right:
        found = self.rights.get(schema_path(path))
        return found.right if found is not None else Right.HIDDEN

    def get(self, path: str) -> FieldRight | None:
        return self.rights.get(schema_path(path))

    def hidden(self) -> list[str]:
        return [p for p, r in self.rights.items() if r.right == Right.HIDDEN]

    def writable(self) -> list[str]:
        return [p for p, r in self.rights.items() if r.right == Right.WRITE]

    def refused_writes(self, paths: Iterable[str]) -> list[str]:
        """The given field paths (``payee_account``, ``lines[2].amount``) this person may not write."""
        return [p for p in paths if self.right(p) < Right.WRITE]

    def mask_text(self, path: str, text: str) -> str:
        """A value's text as shown to this person: masked when the field at ``path`` is masked for them."""
        found = self.get(path)
        if found is None or found.right != Right.MASKED:
            return text
        return str(mask_value(text, found.mask or DEFAULT_MASK))

    def redact(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """A record's stored data as this person may see it: hidden fields left out, masked ones masked."""
        result: dict[str, Any] = {}
        for key, value in data.items():
            right = self.rights.get(key)
            if right is None or right.right == Right.HIDDEN:
                continue  # a key the form does not know is never shown either
            if key in self.lines and isinstance(value, list):
                result[key] = [self._row(key, row) for row in value]
            elif right.right == Right.MASKED:
                result[key] = mask_value(value, right.mask or DEFAULT_MASK)
            else:
                result[key] = value
        return result

    def _row(self, parent: str, row: Any) -> Any:
        if not isinstance(row, dict):
            return row
        out = {}
        for key, value in row.items():
            right = self.rights.get(f"{parent}.{key}")
            if right is None or right.right == Right.HIDDEN:
                continue
            out[key] = mask_value(value, right.mask or DEFAULT_MASK) if right.right == Right.MASKED else value
        return out


def resolve(policies: PolicySet, standing: Standing, form: Any) -> FieldRights:
    """Every field's right (``forms.model.FormModel``) for the person whose ``standing`` is given."""
    rights = {f.path: field_right(policies, standing, f) for f in form.all_fields()}
    lines = frozenset(f.path for f in form.fields if f.is_lines)
    return FieldRights(rights, standing.visible, lines)


def standing(
    subject: Subject,
    policies: PolicySet,
    record: RecordFacts,
    tree: OrgTree,
    *,
    approver_steps: Iterable[str] = (),
    participant: bool = False,
    current_steps: Iterable[str] = (),
) -> Standing:
    """``subject``'s place on ``record``: the caller says what the workflow knows (open tasks,
    earlier tasks or readers, the steps the record is at); the scopes say the rest."""
    return Standing(
        status=record.status,
        bases=tuple(bases_seeing(subject, policies, record, tree)),
        owner=record.owner_id == subject.user_id,
        approver_steps=frozenset(approver_steps),
        participant=participant,
        current_steps=frozenset(current_steps),
    )
