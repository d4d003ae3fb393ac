"""The engine module's guarantees: registration, every match, a clean session, clear errors."""

from __future__ import annotations

import pathlib
import re
import threading
from decimal import Decimal as D

import pytest

from formwork.expressions import ExpressionError, T, TypeEnv
from formwork.rules import RulesEngineError, compile_ruleset, ruleset_name
from formwork.rules.compile import MAX_PROPERTIES
from formwork.rules.engine import RulesEngine

ENV = TypeEnv(
    {
        "amount": T.MONEY,
        "category": T.TEXT,
        "urgent": T.BOOLEAN,
        "qty": T.INTEGER,
        "lines": T.ListOf(T.RecordOf({"amount": T.MONEY})),
    }
)
RULES = {
    "small": "amount < 1000",
    "large": "amount >= 1000",
    "travel": "category == 'travel'",
    "many": "sum(lines.amount) > 500",
}
ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture()
def engine() -> RulesEngine:
    return RulesEngine()


def test_every_matching_rule_fires(engine: RulesEngine) -> None:
    engine.register(compile_ruleset("route_claim_v1", RULES, ENV))
    data = {"amount": D("1500.00"), "category": "travel", "lines": [{"amount": D("600")}]}
    assert engine.evaluate("route_claim_v1", data) == {"large", "travel", "many"}
    assert engine.evaluate("route_claim_v1", {"amount": D("10")}) == {"small"}
    assert engine.evaluate("route_claim_v1", {}) == set()


def test_registration_is_idempotent_and_versioned(engine: RulesEngine) -> None:
    assert engine.register(compile_ruleset("route_claim_v2", RULES, ENV)) is True
    assert engine.register(compile_ruleset("route_claim_v2", dict(RULES), ENV)) is False
    changed = {**RULES, "small": "amount < 2000"}
    with pytest.raises(RulesEngineError, match="already registered with different rules"):
        engine.register(compile_ruleset("route_claim_v2", changed, ENV))
    assert engine.register(compile_ruleset("route_claim_v3", changed, ENV)) is True
    assert engine.evaluate("route_claim_v3", {"amount": D("1500")}) == {"small", "large"}


def test_definition_is_a_fresh_copy_each_time() -> None:
    compiled = compile_ruleset("route_copy_v1", RULES, ENV)
    first = compiled.definition()
    first["r0"]["all"][0]["m"].clear()
    del first["r0"]["run"]
    assert compiled.definition()["r0"]["run"] == "r0"
    assert compiled.definition()["r0"]["all"][0]["m"]


def test_ruleset_names_carry_the_version() -> None:
    assert ruleset_name("route", "expense-claim", 3) == "route_expense_claim_v3"
    with pytest.raises(RulesEngineError, match="invalid ruleset name"):
        compile_ruleset("bad name; drop", RULES, ENV)
    with pytest.raises(RulesEngineError, match="not registered"):
        RulesEngine().evaluate("route_unknown_v1", {})


def test_hundred_thousand_evaluations_leave_the_session_clean(engine: RulesEngine) -> None:
    engine.register(compile_ruleset("route_soak_v1", RULES, ENV))
    fired = 0
    for i in range(100_000):
        fired += len(engine.evaluate("route_soak_v1", {"amount": D(i % 3000), "category": "travel"}))
    assert fired == 200_000
    state = engine.session_state("route_soak_v1")
    assert state["facts"] == []
    assert set(state["state"]) == {"sid", "id", "$s"}


def test_threads_share_one_engine_safely(engine: RulesEngine) -> None:
    engine.register(compile_ruleset("route_threads_v1", RULES, ENV))
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for j in range(500):
                amount = D(j * 7 + k)
                got = engine.evaluate("route_threads_v1", {"amount": amount})
                assert got == ({"small"} if amount < 1000 else {"large"})
        except BaseException as exc:  # reported below, on the main thread
            errors.append(exc)

    before = threading.active_count()
    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert threading.active_count() == before  # the engine started no timer threads of its own


def test_facts_carry_only_what_the_rules_read() -> None:
    compiled = compile_ruleset("route_fact_v1", RULES, ENV)
    data = {"amount": D("1.005"), "category": "travel", **{f"extra{i}": i for i in range(300)}}
    fact = compiled.fact(data)
    assert set(fact) == {"always", "f0", "f0_null", "f1", "f1_null", "p0", "p0_null"}
    assert fact["f0"] == 2 * 100 + 1  # minor units, doubled, +1 for the half cent below the scale
    assert all(isinstance(v, (int, str)) and not isinstance(v, bool) for v in fact.values())


def test_bad_values_give_clear_errors(engine: RulesEngine) -> None:
    engine.register(compile_ruleset("route_bad_v1", RULES, ENV))
    cases = [
        ({"amount": 1.5}, "amount: expected a number"),
        ({"amount": True}, "expected a number"),
        ({"amount": D("NaN")}, "expected a number"),
        ({"category": 5}, "category: expected text"),
        ({"category": "\ud800"}, "not valid Unicode"),
        ({"lines": [{"amount": "x"}]}, "sum(lines.amount)"),
        ("not a mapping", "must be a mapping"),
    ]
    for data, message in cases:
        with pytest.raises(RulesEngineError, match=re.escape(message)):
            engine.evaluate("route_bad_v1", data)  # type: ignore[arg-type]
    assert engine.evaluate("route_bad_v1", {"amount": D("1E+400")}) == {"large"}  # clamped, still exact


def test_bad_definitions_give_clear_errors() -> None:
    with pytest.raises(ExpressionError, match="unknown field"):
        compile_ruleset("route_x_v1", {"a": "amout > 1"}, ENV)
    with pytest.raises(ExpressionError, match="boolean is needed"):
        compile_ruleset("route_x_v1", {"a": "amount + 1"}, ENV)
    with pytest.raises(ExpressionError, match="cannot compare"):
        compile_ruleset("route_x_v1", {"a": "amount < 'abc'"}, ENV)
    with pytest.raises(RulesEngineError, match="no rules"):
        compile_ruleset("route_x_v1", {}, ENV)
    wide = TypeEnv({f"f{i}": T.INTEGER for i in range(150)})
    with pytest.raises(RulesEngineError, match=f"at most {MAX_PROPERTIES}"):
        compile_ruleset("route_x_v1", {f"r{i}": f"f{i} > 1" for i in range(150)}, wide)


def test_complex_conditions_are_projected_not_refused(engine: RulesEngine) -> None:
    env = TypeEnv({f"b{i}": T.BOOLEAN for i in range(20)})
    source = " and ".join(f"(b{i} or not b{i + 1})" for i in range(0, 20, 2))  # 2^10 alternatives
    compiled = compile_ruleset("route_complex_v1", {"r": source}, env)
    engine.register(compiled)
    assert engine.evaluate("route_complex_v1", {f"b{i}": True for i in range(20)}) == {"r"}
    assert engine.evaluate("route_complex_v1", {"b0": False, "b1": True}) == set()


def test_nothing_else_imports_durable() -> None:
    pattern = re.compile(r"^\s*(import durable|from durable)", re.MULTILINE)
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("platform", "plugins", "tests")
        for path in (ROOT / folder).rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8", errors="replace"))
        and path != ROOT / "platform/formwork/rules/engine.py"
        and path != ROOT / "tests/benchmarks/bench_rules.py"
    ]
    assert offenders == []
