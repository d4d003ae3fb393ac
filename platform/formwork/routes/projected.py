"""The record values a form's current route searches, declared to ``records.projections``.

A fact provider names the settings that hold a searched field path (``searched_settings``:
``$duplicate_invoices``' ``field``); a form's projected paths are those settings' values for every
such fact its current route reads (the provider's defaults where the route sets none).
"""

from __future__ import annotations

from ..plugins import current_registry
from ..request_memo import once
from .facts import providers
from .store import current_route


def paths_for_form(form_key: str) -> frozenset[str]:
    """The paths to project for ``form_key`` (read once per request: ``request_memo``)."""
    return once(
        ("projected paths", form_key), lambda: _paths_for_form(form_key), tables=("definition_versions",)
    )


def _paths_for_form(form_key: str) -> frozenset[str]:
    found = current_route(form_key)
    if found is None:
        return frozenset()
    _definition, route = found
    table = providers(current_registry())
    paths: set[str] = set()
    for name in route.facts:
        provider = table.get(name)
        if provider is None or not provider.searched_settings:
            continue
        settings = {**provider.defaults, **(route.fact_settings.get(name) or {})}
        paths.update(settings[key] for key in provider.searched_settings if settings.get(key))
    return frozenset(paths)
