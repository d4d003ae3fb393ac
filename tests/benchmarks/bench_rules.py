"""Rules engine throughput: the engine module against raw durable-rules, measured in one run.

The ruleset is the architecture probe's "200 rules": rule i is
``form == 'f{i % 20}' and amount > i * 100``; data item j has form ``f{j % 20}`` and
amount ``j * 5``. Printed:

* raw events/s — ``Host.post`` on a bare ``Host`` subclass, as the probe does (fires only
  the first matching rule; the figure the target is stated against);
* raw facts/s — stock ``Host.assert_fact`` + ``retract_fact`` with recording actions
  (fires every matching rule, as evaluation must);
* engine evaluations/s — ``RulesEngine.evaluate`` on the same conditions written in the
  expression language (amount as money), including projection and encoding.

Target: engine ≥ 60 % of raw events/s; the script exits 1 when it is missed.
Run: ``.venv/bin/python tests/benchmarks/bench_rules.py``.
"""

from __future__ import annotations

import pathlib
import sys
import time
from decimal import Decimal

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "platform"))

import durable.engine as durable_engine  # noqa: E402  (the raw baseline; the project itself never does this)

from formwork.expressions import T, TypeEnv  # noqa: E402
from formwork.rules import compile_ruleset  # noqa: E402
from formwork.rules.engine import RulesEngine  # noqa: E402

N = 20_000
RULES = 200
TARGET = 0.60


class BareHost(durable_engine.Host):
    def __init__(self) -> None:
        self.fired: list[str] = []
        super().__init__()

    def _run(self) -> None:
        return None

    def get_action(self, action_name: str):  # noqa: ANN201
        def act(closure: object) -> None:
            self.fired.append(action_name)

        return act


def raw_rules() -> dict:
    return {
        f"r{i}": {
            "all": [{"m": {"$and": [{"form": f"f{i % 20}"}, {"$gt": {"amount": i * 100}}]}}],
            "run": f"r{i}",
        }
        for i in range(RULES)
    }


def raw_events() -> float:
    host = BareHost()
    host.set_rulesets({"big": raw_rules()})
    start = time.perf_counter()
    for j in range(N):
        try:
            host.post("big", {"sid": "s", "form": f"f{j % 20}", "amount": j * 5})
        except durable_engine.MessageNotHandledException:
            pass
    return N / (time.perf_counter() - start)


def raw_facts() -> tuple[float, float]:
    host = BareHost()
    host.set_rulesets({"big": raw_rules()})
    start = time.perf_counter()
    for j in range(N):
        fact = {"sid": "s", "form": f"f{j % 20}", "amount": j * 5}
        try:
            host.assert_fact("big", dict(fact))
        except durable_engine.MessageNotHandledException:
            pass
        try:
            host.retract_fact("big", fact)
        except durable_engine.MessageNotHandledException:
            pass
    elapsed = time.perf_counter() - start
    return N / elapsed, len(host.fired) / N


def engine_module() -> tuple[float, float]:
    env = TypeEnv({"form": T.TEXT, "amount": T.MONEY})
    rules = {f"r{i}": f"form == 'f{i % 20}' and amount > {i * 100}" for i in range(RULES)}
    engine = RulesEngine()
    engine.register(compile_ruleset("bench_routing_v1", rules, env))
    data = [{"form": f"f{j % 20}", "amount": Decimal(j * 5)} for j in range(N)]
    fired = 0
    start = time.perf_counter()
    for scope in data:
        fired += len(engine.evaluate("bench_routing_v1", scope))
    elapsed = time.perf_counter() - start
    return N / elapsed, fired / N


def main() -> int:
    # Interleaved rounds, best of three per side: a burst of load from elsewhere on the machine
    # then hits both sides alike instead of deciding the ratio.
    events = facts = evaluations = 0.0
    raw_matches = matches = 0.0
    for _ in range(3):
        events = max(events, raw_events())
        rate, raw_matches = raw_facts()
        facts = max(facts, rate)
        rate, matches = engine_module()
        evaluations = max(evaluations, rate)
    ratio = evaluations / events
    print(f"raw durable-rules events/s (first match only):     {events:10,.0f}")
    print(f"raw durable-rules facts/s  (every match, {raw_matches:.1f}/fact): {facts:10,.0f}")
    print(f"engine module evaluations/s (every match, {matches:.1f}/fact): {evaluations:10,.0f}")
    print(f"engine / raw events: {ratio:6.1%}   (target >= {TARGET:.0%})")
    print(f"engine / raw facts:  {evaluations / facts:6.1%}")
    print(f"\n    {'PASS' if ratio >= TARGET else 'MISS'}  engine vs raw durable-rules events: {ratio:.1%}")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
