"""The one error the rules engine module raises."""

from __future__ import annotations


class RulesEngineError(Exception):
    """A ruleset or a fact the engine cannot take, or an engine failure; ``message`` is user-facing."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message
