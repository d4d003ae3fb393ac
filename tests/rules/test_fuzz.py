"""Random and hostile conditions and data against the engine module, in a child process.

The child must never crash (a negative return code is a signal such as SIGSEGV), never
hang (it is killed after a timeout), and every failure must be a ``RulesEngineError`` or
``ExpressionError`` with a message; every answer it gives must equal the Python evaluator's.
"""

from __future__ import annotations

import json
import os
import pathlib
import pickle
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CHILD = pathlib.Path(__file__).with_name("fuzz_child.py")
ROOT = pathlib.Path(__file__).resolve().parents[2]

# -- conditions, written in the expression language ------------------------------------------
decimals = st.sampled_from(
    [
        "0",
        "0.5",
        "1000",
        "999.99",
        "0.001",
        "12345678901234567890.123456789",
        "99999999999999999999999999999999999999",
        "-0.01",
        "1.000000001",
    ]
)
num = st.deferred(
    lambda: st.one_of(
        st.sampled_from(
            ["amount", "rate", "qty", "sum(lines.amount)", "count(lines)", "max(lines.amount)", "null"]
        ),
        decimals,
        st.integers(-(10**20), 10**20).map(str),
        st.tuples(num, st.sampled_from(["+", "-", "*", "/", "%"]), num).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        num.map(lambda x: f"-({x})"),
        num.map(lambda x: f"round({x}, 2)"),
        num.map(lambda x: f"abs({x})"),
    )
)
text_literals = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\\'"), max_size=12
).map(lambda s: f"'{s}'")
text = st.one_of(
    st.sampled_from(["category", "note", "upper(note)", "concat(category, note)", "lines[0].kind"]),
    text_literals,
)
day = st.sampled_from(["due", "$today", "date('2024-02-29')", "add_days(due, 30)", "lines[0].kind"])
ident = st.sampled_from(["dept", "$user.department", "3", "null"])
comparison = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
boolean = st.deferred(
    lambda: st.one_of(
        st.sampled_from(
            [
                "urgent",
                "true",
                "false",
                "null",
                "is_empty(tags)",
                "amount is null",
                "category is not null",
                "'x' in tags",
                "contains(note, 'a')",
            ]
        ),
        st.tuples(num, comparison, num).map(" ".join),
        st.tuples(text, comparison, text).map(" ".join),
        st.tuples(day, comparison, day).map(" ".join),
        st.tuples(ident, st.sampled_from(["==", "!="]), ident).map(" ".join),
        st.tuples(num, st.lists(decimals | st.just("null"), max_size=6)).map(
            lambda t: f"{t[0]} in [{', '.join(t[1])}]"
        ),
        st.tuples(text, st.lists(text_literals, max_size=40)).map(
            lambda t: f"{t[0]} not in [{', '.join(t[1])}]"
        ),
        boolean.map(lambda b: f"not ({b})"),
        st.lists(boolean, min_size=2, max_size=4).map(lambda bs: "(" + " and ".join(bs) + ")"),
        st.lists(boolean, min_size=2, max_size=4).map(lambda bs: "(" + " or ".join(bs) + ")"),
    )
)
hostile_source = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "amount ** 9",
            "__import__('os')",
            "(" * 60 + "true" + ")" * 60,
            "amount.__class__",
            "amount < 'abc'",
            "urgent < 10",
            "not " * 50 + "true",
            " or ".join(["amount > 1"] * 300),
            "x" * 5000,
        ]
    ),
)
rule_names = st.text(min_size=1, max_size=10)
rules = st.one_of(
    st.dictionaries(rule_names, boolean, min_size=1, max_size=8),
    st.dictionaries(rule_names, boolean, min_size=1, max_size=8),
    st.dictionaries(rule_names, st.one_of(boolean, hostile_source), min_size=1, max_size=4),
)


# -- data: right, wrong and hostile values ----------------------------------------------------
def _deep(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


hostile_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**40), 10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            Decimal("NaN"),
            Decimal("Infinity"),
            Decimal("1E+300"),
            Decimal("-1E-300"),
            1e300,
            "NaN",
            "nan",
            "1e999",
            "",
            "\x00",
            "\ud800",
            "中文",
            _deep(200),
            {"a": 1},
        ]
    ),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.dates(),
    st.datetimes(timezones=st.just(timezone.utc)),
    st.datetimes(),
)
lines = (
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "amount": st.decimals(allow_nan=False, allow_infinity=False) | hostile_value,
                "kind": st.text(max_size=5) | hostile_value,
            },
        ),
        max_size=5,
    )
    | hostile_value
)
good = {
    "amount": st.decimals(min_value=-(10**6), max_value=10**9, places=3) | st.none(),
    "rate": st.decimals(min_value=-1, max_value=1, places=8) | st.none(),
    "qty": st.integers(-5, 10**6) | st.none(),
    "category": st.text(max_size=8) | st.none(),
    "note": st.text(max_size=20) | st.none(),
    "urgent": st.booleans() | st.none(),
    "due": st.dates() | st.none(),
    "sent": st.datetimes(timezones=st.just(timezone.utc)) | st.none(),
    "dept": st.integers(0, 10) | st.none(),
    "tags": st.lists(st.text(max_size=3), max_size=3) | st.none(),
    "lines": lines,
}
fact = st.one_of(
    st.fixed_dictionaries({}, optional=good),
    st.fixed_dictionaries({}, optional={name: s | hostile_value for name, s in good.items()}),
    st.fixed_dictionaries({}, optional=good).map(lambda f: {**f, **{f"extra{i}": i for i in range(300)}}),
    st.just(
        {
            "amount": Decimal("1E+300"),
            "qty": 10**30,
            "due": date.max,
            "sent": datetime.max.replace(tzinfo=timezone.utc) - timedelta(days=1),
        }
    ),
)
batch = st.lists(st.tuples(rules, st.lists(fact, min_size=1, max_size=8)), min_size=1, max_size=10)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch)
def test_engine_survives_random_and_hostile_input(
    examples: list[tuple[dict[str, str], list[dict[str, Any]]]],
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "platform") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    try:
        run = subprocess.run(
            [sys.executable, str(CHILD)],
            input=pickle.dumps(examples),
            capture_output=True,
            timeout=30,
            env=env,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the engine hung on {examples!r}"[:2000]) from None
    assert run.returncode >= 0, f"the engine crashed (signal {-run.returncode}) on {examples!r}"[:2000]
    stderr = run.stderr.decode(errors="replace")
    assert run.returncode == 0, f"{run.stdout.decode(errors='replace')[:3000]}\n{stderr[-2000:]}"
    summary = json.loads(run.stdout)
    assert summary["problems"] == []
    assert summary["rulesets"] + summary["refused"] == len(examples)
    print(summary)
