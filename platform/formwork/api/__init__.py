"""The public JSON API under /api (see CONTRACT.md and /api/openapi.json).

Each module adds its routes to ``api_bp`` when imported; the pages are a sibling adapter that
this package never imports, and both build on the same services and queries below them.
"""

from __future__ import annotations

from . import (  # noqa: F401  - each adds its routes to the blueprint
    admin,  # departments, people, role grants, roles and tokens (administrators)
    admin_import,  # bulk onboarding: import and export the organisation
    attachments,  # files of records and decisions
    audit,  # the audit trail for administrators
    dashboards,  # dashboards' cards and charts within the caller's scope
    definitions,  # list, validate, publish and diff definition versions
    exports,  # the records of one form as CSV or .xlsx
    forms,  # forms and creating records
    kpis,  # KPI values within the caller's scope, and the records behind them
    my_requests,  # delete a draft, copy a request, remind (催办)
    notifications,  # the caller's in-app notifications
    openapi,  # /api/openapi.json
    permission_review,  # who may do what with which form, and why (administrators)
    permissions,  # explain a person's rights on a record (administrators)
    processes,  # what I submitted, a request's route, withdrawing
    records,  # list, read, edit and a record's history
    tasks,  # approval tasks, decisions, out of office
    vouchers,  # a record as a PDF voucher
)
from .blueprint import api_bp

__all__ = ["api_bp"]
