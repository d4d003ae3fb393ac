"""Child process of the fuzz test: runs pickled rulesets and data through the engine module.

Reads ``[(rules: dict[str, str], facts: list[object]), ...]`` as a pickle on stdin and prints
one JSON summary. Exit 0 when every failure was a ``RulesEngineError`` or ``ExpressionError``
with a message and every answer matched the Python evaluator; exit 3 otherwise.
"""

from __future__ import annotations

import json
import pickle
import sys
from datetime import date, datetime, timezone
from typing import Any

from formwork.expressions import ExpressionError, T, TypeEnv, compile_expression
from formwork.rules import RulesEngineError, compile_ruleset
from formwork.rules.engine import RulesEngine

ENV = TypeEnv(
    {
        "amount": T.MONEY,
        "rate": T.DECIMAL,
        "qty": T.INTEGER,
        "category": T.TEXT,
        "note": T.TEXT,
        "urgent": T.BOOLEAN,
        "due": T.DATE,
        "sent": T.DATETIME,
        "dept": T.DEPARTMENT,
        "tags": T.ListOf(T.TEXT),
        "lines": T.ListOf(T.RecordOf({"amount": T.MONEY, "kind": T.TEXT})),
    }
)
CONTEXT = {
    "user": {"id": 7, "username": "u", "department": 3, "roles": []},
    "today": date(2024, 6, 15),
    "now": datetime(2024, 6, 15, tzinfo=timezone.utc),
}


def main() -> int:
    batch = pickle.load(sys.stdin.buffer)
    engine = RulesEngine()
    summary: dict[str, Any] = {"rulesets": 0, "refused": 0, "evaluations": 0, "errors": 0, "problems": []}
    for number, (rules, facts) in enumerate(batch):
        name = f"fuzz_{number}_v1"
        try:
            engine.register(compile_ruleset(name, rules, ENV))
        except (RulesEngineError, ExpressionError) as exc:
            summary["refused"] += 1
            if not str(exc).strip():
                summary["problems"].append(f"empty message for {rules!r}")
            continue
        except Exception as exc:  # anything else is a bug the test reports
            summary["problems"].append(f"compile {rules!r}: {type(exc).__name__}: {exc}"[:500])
            continue
        summary["rulesets"] += 1
        python = {rule: compile_expression(src, ENV, expected=T.BOOLEAN) for rule, src in rules.items()}
        for fact in facts:
            summary["evaluations"] += 1
            try:
                got = engine.evaluate(name, fact, CONTEXT)
            except (RulesEngineError, ExpressionError) as exc:
                summary["errors"] += 1
                if not str(exc).strip():
                    summary["problems"].append("empty error message")
                continue
            except Exception as exc:
                summary["problems"].append(f"evaluate {rules!r}: {type(exc).__name__}: {exc}"[:500])
                continue
            try:
                expected = {rule for rule, expr in python.items() if expr.test(fact, None, CONTEXT)}
            except ExpressionError:
                continue  # the engine answered where Python's evaluation fails: allowed (see the docs)
            if got != expected:
                summary["problems"].append(
                    f"{rules!r} on {fact!r}: engine {sorted(got)}, Python {sorted(expected)}"[:800]
                )
    print(json.dumps(summary))
    return 3 if summary["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
