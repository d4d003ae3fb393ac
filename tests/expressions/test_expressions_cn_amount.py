"""The cn_amount plugin: Chinese capital amounts (大写金额) as written on vouchers."""

from __future__ import annotations

import importlib.util
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from formwork.expressions import (
    ExpressionRuntimeError,
    ExpressionTypeError,
    T,
    TypeEnv,
    builtin_functions,
    compile_expression,
)
from formwork.plugins import PluginRegistry
from formwork.wiring import build_registry

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


def _load_module():
    spec = importlib.util.spec_from_file_location(
        "formwork_test_cn_amount", PLUGINS / "cn_amount" / "__init__.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cn_amount = _load_module()

KNOWN = [
    ("0", "零元整"),
    ("0.00", "零元整"),
    ("1", "壹元整"),
    ("10", "壹拾元整"),
    ("11", "壹拾壹元整"),
    ("20", "贰拾元整"),
    ("100", "壹佰元整"),
    ("101", "壹佰零壹元整"),
    ("110", "壹佰壹拾元整"),
    ("1005", "壹仟零伍元整"),
    ("1010", "壹仟零壹拾元整"),
    ("1050", "壹仟零伍拾元整"),
    ("1234.56", "壹仟贰佰叁拾肆元伍角陆分"),
    ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
    ("10000", "壹万元整"),
    ("10000.05", "壹万元零伍分"),
    ("10001", "壹万零壹元整"),
    ("10100", "壹万零壹佰元整"),
    ("100000", "壹拾万元整"),
    ("100100", "壹拾万零壹佰元整"),
    ("105000", "壹拾万伍仟元整"),
    ("1000100", "壹佰万零壹佰元整"),
    ("20000001", "贰仟万零壹元整"),
    ("100000000", "壹亿元整"),
    ("100010000", "壹亿零壹万元整"),
    ("1000000001", "壹拾亿零壹元整"),
    ("1200000000", "壹拾贰亿元整"),
    ("100000000000", "壹仟亿元整"),
    ("1000000000000", "壹万亿元整"),
    ("1000100000000", "壹万零壹亿元整"),
    ("9999999999999.99", "玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ("9999999999999999.99", "玖仟玖佰玖拾玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ("0.05", "伍分"),
    ("0.5", "伍角"),
    ("0.56", "伍角陆分"),
    ("3.5", "叁元伍角"),
    ("3.05", "叁元零伍分"),
    ("3.50", "叁元伍角"),
    ("-5.5", "负伍元伍角"),
    ("-100", "负壹佰元整"),
    ("0.004", "零元整"),
    ("0.005", "壹分"),
    ("2.675", "贰元陆角捌分"),
    ("50000", "伍万元整"),
    ("60500.70", "陆万零伍佰元柒角"),
]


@pytest.mark.parametrize("amount, words", KNOWN)
def test_known_amounts(amount: str, words: str) -> None:
    assert cn_amount.capital_amount(Decimal(amount)) == words


def test_the_table_is_thorough() -> None:
    assert len(KNOWN) >= 25


def test_integers_are_accepted() -> None:
    assert cn_amount.capital_amount(300) == "叁佰元整"


def test_out_of_range_amounts_are_refused() -> None:
    with pytest.raises(ExpressionRuntimeError):
        cn_amount.capital_amount(Decimal("10000000000000000"))
    with pytest.raises(ExpressionRuntimeError):
        cn_amount.capital_amount(Decimal("1E+40"))


def _functions():
    registry = PluginRegistry()
    for spec in builtin_functions().values():
        registry.add_function(spec)
    assert registry.load_plugin("cn_amount", cn_amount.load)
    return registry.functions


def test_as_an_expression_function() -> None:
    env = TypeEnv({"total": T.MONEY, "category": T.TEXT})
    compiled = compile_expression("cn_amount(total)", env, _functions(), expected=T.TEXT)
    assert compiled.type == T.TEXT
    assert compiled.evaluate({"total": Decimal("1234.56")}) == "壹仟贰佰叁拾肆元伍角陆分"
    assert compiled.evaluate({"total": None}) is None
    with pytest.raises(ExpressionTypeError, match="must be an amount"):
        compile_expression("cn_amount(category)", env, _functions())
    with pytest.raises(ExpressionRuntimeError, match="below") as caught:
        compiled.evaluate({"total": Decimal("1E+20")})
    assert caught.value.position == 0


def test_the_plugin_loader_finds_it_in_the_plugins_folder() -> None:
    registry = build_registry([PLUGINS], safe_mode=False)
    assert "cn_amount" in registry.loaded
    assert "cn_amount" in registry.functions
    assert "cn_amount" not in build_registry([PLUGINS], safe_mode=True).functions
