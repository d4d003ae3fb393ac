"""Wiring: the platform's own extensions handed to the layers that hold them.

The plugin registry and the definition pipeline know no feature; this module, used by
the application factory and the command line, gives the registry the built-in
functions, field types, facts and channels, and each definition kind its checks.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from . import plugins
from .budgets import fact as budget_fact
from .dashboards import published as dashboard_definitions
from .definitions import pipeline
from .expressions import install_sqlite_functions
from .expressions.functions import register_builtins as register_builtin_functions
from .forms import checks as form_checks
from .forms.field_types import register_builtins as register_builtin_field_types
from .kpis import published as kpi_definitions
from .kpis import query as kpi_query
from .notifications.channels import register_builtins as register_builtin_channels
from .org import administration, grants
from .permissions import duties
from .permissions import published as permission_checks
from .permissions import scopes as permission_scopes
from .permissions.sql_filters import custom_filter_sql
from .records import access as record_access
from .records import facts as record_facts
from .records import projections as record_projections
from .routes import checks as route_checks
from .routes.compile import check_form_against_routes
from .routes.facts import register_builtins as register_builtin_facts
from .routes.projected import paths_for_form as route_searched_paths
from .workflow import org_changes, process_measures
from .workflow.models import task_record_ids
from .workflow.read_policy import PermissionReadPolicy

# In this order: the registry lists them so (functions, field types, facts, channels).
BUILTINS: tuple[plugins.Builtins, ...] = (
    register_builtin_functions,
    register_builtin_field_types,
    budget_fact.register,
    register_builtin_facts,
    register_builtin_channels,
)


def build_registry(plugin_dirs: list[Path], safe_mode: bool) -> plugins.PluginRegistry:
    """The registry of this installation: the built-ins, then the plugins of ``plugin_dirs``."""
    return plugins.build_registry(plugin_dirs, safe_mode, BUILTINS)


def register_definition_kinds() -> None:
    """Each definition kind's semantic check, and the routes' check of a new form version."""
    pipeline.register_check("form", form_checks.check_form)
    pipeline.register_check("route", route_checks.check_route_definition)
    pipeline.register_check("permission", permission_checks.check_permission)
    pipeline.register_check("kpi", kpi_definitions.check_kpi)
    pipeline.register_check("dashboard", dashboard_definitions.check_dashboard)
    form_checks.add_form_check(check_form_against_routes)


def register_record_participation() -> None:
    """People read the records they were asked to act on: the workflow's tasks widen records' access."""
    record_access.register_participation("tasks", task_record_ids)


def register_org_changes() -> None:
    """Running requests follow the organisation: a leaver's tasks go to their successor, a
    department's head tasks to its new head (in the administrator's own transaction)."""
    administration.on_leave("workflow", org_changes.hand_over_on_leave)
    administration.on_head_change("workflow", org_changes.follow_new_head)
    # Segregation of duties, declared in the permission definitions, checked on every grant.
    grants.on_pairs("permission definitions", duties.pairs_for_grants)


def register_projected_paths() -> None:
    """The record values the routes' facts search (``$duplicate_invoices``' field) are projected
    into ``record_values`` on every write, so their lookups are index searches."""
    record_projections.register_source("route facts", route_searched_paths)
    # The fields the KPIs aggregate, typed, in ``record_facts`` (``records.facts``).
    record_facts.register_source("kpis", kpi_definitions.paths_for_form)
    # The KPIs' process measures read the approval history through the workflow's own tables.
    kpi_query.register_process_rows(process_measures.rows)


def wire_read_policy() -> None:
    """Data scopes and field rights of the permission definitions in every read path."""
    record_access.use_read_policy(PermissionReadPolicy())


def register_permission_filters(engine: Engine) -> None:
    """Custom data scopes run in the database: the expressions' SQL back end, and on SQLite the
    functions it calls, installed on every connection the engine opens."""
    permission_scopes.use_custom_filter_backend(custom_filter_sql)
    install_sqlite_functions(engine)
