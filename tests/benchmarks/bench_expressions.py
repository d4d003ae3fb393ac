"""Expression evaluation throughput: a 20-term condition, compiled vs a hand-written lambda.

Run:  .venv/bin/python tests/benchmarks/bench_expressions.py
Target (issue): at least 100,000 evaluations per second in pure Python.
"""

from __future__ import annotations

import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "platform"))

from formwork.expressions import T, TypeEnv, compile_expression  # noqa: E402

TARGET = 100_000
TERMS = 20


def build() -> tuple[str, dict, dict]:
    """``f0 > 0 and f1 < 1.5 and f2 == 'x2' and ...``: integers, decimals and text, all true."""
    types, scope, terms = {}, {}, []
    for i in range(TERMS):
        name = f"f{i}"
        if i % 3 == 0:
            types[name], scope[name] = T.INTEGER, i + 1
            terms.append(f"{name} > {i}")
        elif i % 3 == 1:
            types[name], scope[name] = T.DECIMAL, Decimal(i)
            terms.append(f"{name} < {i}.5")
        else:
            types[name], scope[name] = T.TEXT, f"x{i}"
            terms.append(f"{name} == 'x{i}'")
    return " and ".join(terms), types, scope


def hand_written() -> object:
    """The same condition written directly in Python (no null handling: the fastest it can be)."""
    d = {i: Decimal(f"{i}.5") for i in range(TERMS)}
    return lambda s: (
        s["f0"] > 0
        and s["f1"] < d[1]
        and s["f2"] == "x2"
        and s["f3"] > 3
        and s["f4"] < d[4]
        and s["f5"] == "x5"
        and s["f6"] > 6
        and s["f7"] < d[7]
        and s["f8"] == "x8"
        and s["f9"] > 9
        and s["f10"] < d[10]
        and s["f11"] == "x11"
        and s["f12"] > 12
        and s["f13"] < d[13]
        and s["f14"] == "x14"
        and s["f15"] > 15
        and s["f16"] < d[16]
        and s["f17"] == "x17"
        and s["f18"] > 18
        and s["f19"] < d[19]
    )


def rate(fn, arg, seconds: float = 1.0) -> float:
    """Evaluations per second: best of three runs of about ``seconds`` / 3 each."""
    best = 0.0
    for _ in range(3):
        n, started = 0, time.perf_counter()
        while True:
            for _ in range(1000):
                fn(arg)
            n += 1000
            elapsed = time.perf_counter() - started
            if elapsed >= seconds / 3:
                break
        best = max(best, n / elapsed)
    return best


def main() -> int:
    source, types, scope = build()
    compiled = compile_expression(source, TypeEnv(types), expected=T.BOOLEAN)
    baseline = hand_written()
    assert compiled.evaluate(scope) is True and baseline(scope) is True
    started = time.perf_counter()
    for _ in range(100):
        compile_expression(source, TypeEnv(types), expected=T.BOOLEAN)
    compile_ms = (time.perf_counter() - started) * 10
    ours = rate(compiled.evaluate, scope)
    theirs = rate(baseline, scope)
    met = ours >= TARGET
    print(f"condition: {TERMS} terms, {len(source)} characters; compile {compile_ms:.2f} ms")
    print(f"compiled expression : {ours:12,.0f} evaluations/s")
    print(f"hand-written lambda : {theirs:12,.0f} evaluations/s")
    print(f"ratio (ours/lambda) : {ours / theirs:12.2f}")
    print(f"target {TARGET:,}/s     : {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
