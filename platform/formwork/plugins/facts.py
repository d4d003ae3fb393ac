"""What a route fact is: the extension point behind ``$name`` in route conditions.

The registry holds providers of this shape; ``routes.facts`` computes them, and any
layer may define one (``budgets.fact``, a plugin) without knowing the route compiler.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Mapping

from ..expressions import T

#: Settings a provider may read: field name → what it must be. ``check`` returns ``(message, setting)`` pairs.
SettingsCheck = Callable[[Mapping[str, str], Any], list[tuple[str, str]]]


@dataclass(frozen=True)
class FactRequest:
    """What a provider computes from: the record, its compiled form and typed values, the route's settings."""

    record: Any
    form: Any
    values: Mapping[str, Any]
    settings: Mapping[str, str]
    today: date


@dataclass(frozen=True)
class FactProvider:
    name: str  # read as $name
    type: T.Type
    compute: Callable[[FactRequest], Any]
    check: SettingsCheck | None = None
    defaults: Mapping[str, str] = field(default_factory=dict)
    needs_settings: bool = False  # a route reading this fact must configure it under facts:
    description: str = ""
    # Settings naming a form field that picks WHICH value applies (the budget's department): the route
    # checker warns when the submitter may set such a field freely (``FieldType.freely_chosen``).
    key_settings: tuple[str, ...] = ()
    # Settings naming a field path whose values the provider looks up across the form's records
    # (``$duplicate_invoices``' field): a route reading the fact has those paths projected
    # (``records.projections``), so the lookup is an index search.
    searched_settings: tuple[str, ...] = ()
