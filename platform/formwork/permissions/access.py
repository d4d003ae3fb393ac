"""The calls the read and write paths make: one per question, from a signed-in user.

Each answers None when no permission definition covers the form yet: the caller then keeps
today's rules (``records.access``). Everything is read when called — the person's roles and
department, the department tree (in the SQL itself for lists), the policies in force — so a
move, a new role or a publish counts from the next request.
"""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import ColumnElement

from ..records.access import sees_everything
from .field_rights import FieldRights, resolve, standing
from .model import PolicySet
from .published import current_policies, policies_for
from .scopes import allowed_on_form, bases_seeing, records_filter
from .subject import OrgTree, RecordFacts, Subject


def scope_condition(user: Any, form_key: str, operation: str = "view") -> ColumnElement[bool] | None:
    """The SQL condition on ``records`` for lists, search and export of ``form_key`` (None: no definitions).

    The caller ORs in the records the person was asked to act on or told about, as today.
    """
    policies = policies_for(form_key)
    if not policies:
        return None
    tree = OrgTree.load()
    return records_filter(Subject.load(user, tree), policies, operation, tree=tree)


def record_rights(
    user: Any,
    record: Any,
    form: Any,
    *,
    approver_steps: Iterable[str] = (),
    participant: bool = False,
    current_steps: Iterable[str] = (),
) -> FieldRights | None:
    """Whether ``user`` sees ``record`` (``.visible``; not visible → 404) and every field's right.

    ``form`` is the record's compiled form; the workflow supplies the steps of the person's open
    tasks on the record, whether they acted on it earlier or were told about it, and the steps
    the record is at. None: no permission definition covers the form.
    """
    if not policies_for(record.form_key):
        return None  # before reading the person and the tree, which a form without definitions needs not
    return RightsReader(user).rights(
        record, form, approver_steps=approver_steps, participant=participant, current_steps=current_steps
    )


class RightsReader:
    """``record_rights`` for many records of one person (an export): the person, the department
    tree and each form's policies are read once, when the reader is made, not once per record."""

    def __init__(self, user: Any):
        self.tree = OrgTree.load()
        self.subject = Subject.load(user, self.tree)
        self._policies: dict[str, PolicySet] = {}

    def policies(self, form_key: str) -> PolicySet:
        if form_key not in self._policies:
            self._policies[form_key] = policies_for(form_key)
        return self._policies[form_key]

    def rights(
        self,
        record: Any,
        form: Any,
        *,
        approver_steps: Iterable[str] = (),
        participant: bool = False,
        current_steps: Iterable[str] = (),
    ) -> FieldRights | None:
        """As ``record_rights`` (None: no permission definition covers the form)."""
        policies = self.policies(record.form_key)
        if not policies:
            return None
        place = standing(
            self.subject,
            policies,
            RecordFacts.of(record, form),
            self.tree,
            approver_steps=approver_steps,
            participant=participant,
            current_steps=current_steps,
        )
        return resolve(policies, place, form)


def may_create(user: Any, form_key: str) -> bool:
    """May ``user`` create records of ``form_key``: a grant with ``create`` for one of their roles
    (held in the grant's department when it names one). Administrators always; with no
    definition covering the form, everyone (today's rule)."""
    if sees_everything(user):
        return True
    policies = policies_for(form_key)
    if not policies:
        return True
    tree = OrgTree.load()
    return bool(allowed_on_form(Subject.load(user, tree), policies, "create", tree))


def may_on_record(user: Any, record: Any, form: Any, operation: str) -> bool | None:
    """May ``user`` ``operation`` (``print``, ``edit``, ``approve``, ``export``) this record: a grant
    with that operation whose scope reaches it. None: no definition covers the form."""
    policies = policies_for(record.form_key)
    if not policies:
        return None
    tree = OrgTree.load()
    facts = RecordFacts.of(record, form)
    return bool(bases_seeing(Subject.load(user, tree), policies, facts, tree, operation))


def may_administer(user: Any, form_key: str | None = None) -> bool | None:
    """May ``user`` administer (check, publish, read the versions of) definitions: of ``form_key``
    (its form, routes and permissions) when given, else of every form (a grant in a definition
    for every form). With ``form_key`` a definition for that form or for every form counts.
    None: no permission definition is published at all (the caller keeps its role rule).
    Administrators always may: a definition can never lock them out of fixing it.
    """
    if sees_everything(user):
        return True
    policies = current_policies()
    if not policies:
        return None
    tree = OrgTree.load()
    subject = Subject.load(user, tree)
    return bool(allowed_on_form(subject, PolicySet.of(form_key or "*", policies), "administer", tree))


def administers_any(user: Any) -> bool | None:
    """Does ``user`` administer the definitions of some form (or of every form). None: as above."""
    if sees_everything(user):
        return True
    policies = current_policies()
    if not policies:
        return None
    return any(may_administer(user, form_key) for form_key in {policy.form for policy in policies})
