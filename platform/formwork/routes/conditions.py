"""Evaluating a route's conditions for one record: every step ``when``, branch case and alert at once.

The record's stored JSON becomes typed values with its own form version (computed
fields recomputed), the facts the route reads are computed, and one call to the
rules engine answers which rules hold. ``holding_python`` answers the same question
with the Python evaluator; the two must agree (tests/routes/test_parity.py).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from .. import business_time
from ..forms import catalogue
from ..forms.state import evaluate_state
from ..forms.validation import runtime_values
from ..plugins import current_registry
from ..rules import get_engine
from .facts import compute_facts
from .model import RouteModel
from .store import register

ALERT_PREFIX = "alert:"  # see compile.rule_for_alert


def record_values(record: Any, context: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The record's compiled form and its typed values, computed fields included."""
    form = catalogue.compiled_form(record.definition)
    state = evaluate_state(form, runtime_values(form, record.data), context=context)
    return form, dict(state.values)


def evaluation_input(
    route: RouteModel, record: Any, *, context: Mapping[str, Any], alerts: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(values, context)`` the conditions read: the record's typed data, and ``context`` plus the facts.

    Without ``alerts``, facts that only alert conditions read are not computed (they are null):
    alerts are raised when a request starts, and the transitions after it read step and branch
    conditions only, so a costly alert fact (the duplicate-invoice search) runs once per request.
    """

    form, values = record_values(record, context)
    given = context.get("today")
    today = given if isinstance(given, date) else business_time.today()
    wanted = route.facts if alerts else route.step_facts
    facts = (
        compute_facts(
            wanted,
            current_registry(),
            record=record,
            form=form,
            values=values,
            settings=route.fact_settings,
            today=today,
        )
        if wanted
        else {}
    )
    for name in route.facts - wanted:
        facts[name] = None
    return values, {**context, **facts}


def holding(route: RouteModel, record: Any, *, context: Mapping[str, Any], alerts: bool = True) -> set[str]:
    """The rule names (``step:<key>``, ``case:<branch>:<i>``, ``alert:<key>``) that hold for ``record``.

    ``context`` holds the ``$`` values (``formwork.forms.state.context_for(submitter)``). One engine call;
    raises ``formwork.rules.RulesEngineError`` (a user-facing message) when the data cannot be evaluated.
    Without ``alerts`` no ``alert:`` name is answered (see ``evaluation_input``).
    """
    if route.ruleset is None:
        return set()
    values, full_context = evaluation_input(route, record, context=context, alerts=alerts)
    register(route)
    held = get_engine().evaluate(route.ruleset.name, values, full_context)
    return held if alerts else {name for name in held if not name.startswith(ALERT_PREFIX)}


def holding_python(route: RouteModel, values: Mapping[str, Any], context: Mapping[str, Any]) -> set[str]:
    """The same answer as ``holding`` from the Python evaluator, for prepared values and context."""
    return {
        name
        for name, expression in route.compiled_conditions.items()
        if expression.test(values, None, context)
    }
