"""Dashboard definitions against what is published: the check before publishing, the dashboards
in force, and which of them a person sees."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select

from ..definitions import store
from ..definitions.models import DefinitionVersion
from ..definitions.problems import DefinitionError, Problem
from ..extensions import db
from ..kpis.model import Kpi
from ..kpis.published import current_kpis, pending_kpi
from ..org.models import Department
from ..request_memo import once
from .model import DEPARTMENT_HEAD, KIND, Dashboard, compile_dashboard

log = logging.getLogger(__name__)


def _kpi(key: str) -> Kpi | None:
    """A KPI from the set being published, else the published one."""
    pending = pending_kpi(key)
    if pending is not None:
        return pending
    return current_kpis().get(key)


def check_dashboard(content: dict, registry: Any) -> list[Problem]:
    """The semantic check of a dashboard definition (``definitions.pipeline.SemanticCheck``)."""
    try:
        compile_dashboard(content, _kpi)
    except DefinitionError as exc:
        return exc.problems
    return []


def current_dashboards() -> dict[str, Dashboard]:
    """Key → every dashboard's current version, compiled (read once per request)."""
    return once("current dashboards", _published, tables=("definition_versions",))


def _published() -> dict[str, Dashboard]:
    count, newest = db.session.execute(select(func.count(), func.max(DefinitionVersion.id))).one()
    return store._cache().get_or_build(("dashboards", count, newest), _compile_current)


def _compile_current() -> dict[str, Dashboard]:
    found: dict[str, Dashboard] = {}
    kpis = current_kpis()
    for definition in store.current_versions(KIND):
        try:
            found[definition.key] = compile_dashboard(definition.content, kpis.get)
        except DefinitionError as exc:
            # Valid when published: only a KPI withdrawn or broken since can do this.
            log.error(
                "dashboard %s version %s cannot be compiled: %s", definition.key, definition.version, exc
            )
    return found


def heads_a_department(user: Any) -> bool:
    return db.session.scalar(select(Department.id).where(Department.head_id == user.id).limit(1)) is not None


def visible_to(dashboard: Dashboard, user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if dashboard.viewers is None or user.has_role("administrator"):
        return True
    if any(user.has_role(role) for role in dashboard.viewers if role != DEPARTMENT_HEAD):
        return True
    return DEPARTMENT_HEAD in dashboard.viewers and heads_a_department(user)


def dashboards_for(user: Any) -> list[Dashboard]:
    """The dashboards ``user`` sees, in their order."""
    return sorted(
        (d for d in current_dashboards().values() if visible_to(d, user)), key=lambda d: (d.order, d.key)
    )
