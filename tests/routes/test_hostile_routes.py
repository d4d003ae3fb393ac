"""Random and hostile route definitions: checking answers with problems, never with a crash.

The route checker turns an unexpected exception into an "internal error" problem (so a
bug can never let a route through); these tests require that it never gets there.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formwork.definitions import store
from formwork.definitions.loader import read_source
from formwork.definitions.pipeline import check

from .conftest import ROUTES

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            "total >= 50000",
            "$budget.remaining > 1",
            "totl",
            "1 +",
            "null",
            "lines",
            "admin",
            "cfo",
            "return_to_step",
            "k_of_n",
            "-1",
            "0",
            "PUR",
            "$duplicate_invoices",
        ]
    ),
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def _pointers(value: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_pointers(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_pointers(item, (*path, index)))
    return found


def _replace(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    value = copy.copy(value)
    value[path[0]] = _replace(value[path[0]], path[1:], new)
    return value


WORDS = st.sampled_from(
    [
        "total >= 50000",
        "$budget.remaining > 1",
        "$budget.used",
        "totl > 1",
        "1 +",
        "null",
        "lines.amount > 1",
        "admin",
        "carol",
        "nobody",
        "cfo",
        "security_owner",
        "finance_review",
        "department_head",
        "cashier",
        "cfo",
        "budget_check",
        "purchasing",
        "department",
        "estimated_total",
        "budget_category",
        "reason",
        "x",
        "$duplicate_invoices > 0",
        "count(lines) > 1",
        "expense_claim",
        "purchase_request",
        "PUR",
        "HQ",
    ]
)


def _like(old: Any, data: st.DataObject) -> Any:
    """A replacement of the same shape: most stay schema-valid and reach the semantic checks."""
    if isinstance(old, bool):
        return data.draw(st.booleans())
    if isinstance(old, int):
        return data.draw(st.integers(-3, 200))
    if isinstance(old, str):
        return data.draw(WORDS)
    if isinstance(old, list) and old:
        index = data.draw(st.integers(0, len(old) - 1))
        return data.draw(
            st.sampled_from([old[:index] + old[index + 1 :], old + [old[index]], list(reversed(old))])
        )
    if isinstance(old, dict) and old:
        key = data.draw(st.sampled_from(sorted(old)))
        return {k: v for k, v in old.items() if k != key}
    return old


def _get(value: Any, path: tuple) -> Any:
    for step in path:
        value = value[step]
    return value


def _assert_clean(problems) -> None:
    assert all("internal error" not in p.message for p in problems), [str(p) for p in problems]


BASES = [read_source(path).content for path in sorted(ROUTES.glob("*.yaml"))]
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(data=st.data())
def test_mutated_demo_routes_give_problems_not_crashes(app, demo_org, data):
    if store.current("form", "expense_claim") is None:
        store.publish_path(ROUTES.parent / "forms")
    base = data.draw(st.sampled_from(BASES))
    mutated = base
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_pointers(mutated)))
        new = data.draw(JSON) if data.draw(st.integers(0, 4)) == 0 else _like(_get(mutated, path), data)
        mutated = _replace(mutated, path, new)
    _assert_clean(check(mutated))


@SETTINGS
@given(content=JSON)
def test_random_documents_give_problems_not_crashes(app, content):
    if isinstance(content, dict):
        content = {**content, "kind": "route"}
    _assert_clean(check(content))
