"""Route conditions and budget/alert rules on durable-rules, behind one module.

``compile_ruleset`` turns type-checked conditions into engine conditions plus a fact
layout (projection and exact encoding); ``engine`` is the only importer of
``durable`` and evaluates every matching rule safely. See ``docs/rules-engine.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .compile import CompiledRuleset, Slot, compile_ruleset, ruleset_name
from .errors import RulesEngineError

if TYPE_CHECKING:
    from .engine import RulesEngine

__all__ = ["CompiledRuleset", "RulesEngineError", "Slot", "compile_ruleset", "get_engine", "ruleset_name"]


def get_engine() -> "RulesEngine":
    """The process-wide ``RulesEngine``; imported lazily so compiling alone never loads the engine."""
    from .engine import get_engine as _get  # start-up time: compiling alone never loads durable-rules

    return _get()
