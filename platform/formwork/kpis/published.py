"""KPI definitions against what is published: the check before publishing, the KPIs in force.

``check_kpi(content, registry)`` is the pipeline's semantic check of the kind: it compiles the
KPI against the forms and KPIs of the set being published or else the published ones.
``current_kpis()`` is every KPI's current version compiled, once per published set (a publish
of any definition is a new version, so the cache never goes stale); ``paths_for_form`` tells
``records.facts`` which typed values to keep for a form's records.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

from sqlalchemy import func, select

from ..definitions import pipeline, store
from ..definitions.models import DefinitionVersion
from ..definitions.problems import DefinitionError, Problem
from ..extensions import db
from ..forms import catalogue
from ..forms.model import compile_form
from ..org.models import Department
from ..plugins import current_registry
from ..records.facts import TypedPath
from ..request_memo import once
from .model import KIND, Kpi, compile_kpi

log = logging.getLogger(__name__)


def _form(key: str, registry: Any = None) -> Any:
    """The compiled form ``key``: from the set being published, else the published version."""
    pending = pipeline.pending("form", key)
    if pending is not None:
        try:
            return compile_form(pending, current_registry() if registry is None else registry)
        except DefinitionError:
            return None  # its own problems are reported with it
    definition = store.current_version("form", key)
    if definition is None:
        return None
    try:
        return catalogue.compiled_form(definition)
    except catalogue.FormUnavailable:
        return None


def _kpi_content(key: str) -> Mapping[str, Any] | None:
    pending = pipeline.pending(KIND, key)
    if pending is not None:
        return pending
    definition = store.current_version(KIND, key)
    return definition.content if definition is not None else None


def check_kpi(content: dict, registry: Any) -> list[Problem]:
    """The semantic check of a KPI definition (``definitions.pipeline.SemanticCheck``)."""
    try:
        compile_kpi(content, lambda key: _form(key, registry), _kpi_content)
    except DefinitionError as exc:
        return exc.problems
    codes = set((content.get("target") or {}).get("departments") or ())
    known = (
        set(db.session.scalars(select(Department.code).where(Department.code.in_(codes)))) if codes else set()
    )
    return [
        Problem(f"unknown department {code!r}", f"/target/departments/{code}")
        for code in sorted(codes - known)
    ]


def pending_kpi(key: str) -> Kpi | None:
    """The KPI ``key`` of the set being published, compiled (None: not in it, or broken — its
    own problems are reported with it)."""
    content = pipeline.pending(KIND, key)
    if content is None:
        return None
    try:
        return compile_kpi(content, _form, _kpi_content)
    except DefinitionError:
        return None


# --- the KPIs in force ---------------------------------------------------------------------------


def current_kpis() -> dict[str, Kpi]:
    """Key → every KPI's current version, compiled (read once per request).

    One that no longer compiles is left out and logged: it was valid when published, so only a
    form changed since can break it."""
    return once("current kpis", _published, tables=("definition_versions",))


def _published() -> dict[str, Kpi]:
    count, newest = db.session.execute(select(func.count(), func.max(DefinitionVersion.id))).one()
    return store._cache().get_or_build(("kpis", count, newest), _compile_current)


def _compile_current() -> dict[str, Kpi]:
    found: dict[str, Kpi] = {}
    for definition in store.current_versions(KIND):
        try:
            found[definition.key] = compile_kpi(definition.content, _form, _kpi_content)
        except DefinitionError as exc:
            log.error("kpi %s version %s cannot be compiled: %s", definition.key, definition.version, exc)
    return found


def kpi_named(key: str) -> Kpi | None:
    return current_kpis().get(key)


def paths_for_form(form_key: str) -> frozenset[TypedPath]:
    """The typed values of ``form_key``'s records that the KPIs in force read (``records.facts``)."""
    found: set[TypedPath] = set()
    for kpi in current_kpis().values():
        found |= kpi.typed_paths(form_key)
    return frozenset(found)
