"""Explain a person's rights on a record: which grant, scope and rule decide, naming where each was written.

The same inputs as the read path (``read_policy``): the published permission definitions,
the organisation as it is now, and the person's tasks on the record, so what it says is
what is enforced.
"""

from __future__ import annotations

from ..forms import catalogue
from ..org.models import User
from ..permissions.explain import Explanation, explain_field, explain_record
from ..permissions.published import policies_for
from ..permissions.subject import OrgTree, RecordFacts, Subject
from ..records.models import Record
from .read_policy import task_standing


def explain(user: User, record: Record, field: str | None = None) -> Explanation:
    """May ``user`` see ``record`` (and see, mask or write ``field``), and why."""
    form = catalogue.compiled_form(record.definition)
    tree = OrgTree.load()
    subject = Subject.load(user, tree)
    policies = policies_for(record.form_key)
    facts = RecordFacts.of(record, form)
    standing = task_standing(user.id, record)
    if field is None:
        return explain_record(
            subject,
            policies,
            facts,
            tree,
            approver_steps=standing.approver_steps,
            participant=standing.participant,
        )
    return explain_field(
        subject,
        policies,
        facts,
        tree,
        form,
        field,
        approver_steps=standing.approver_steps,
        participant=standing.participant,
        current_steps=standing.current_steps,
    )
