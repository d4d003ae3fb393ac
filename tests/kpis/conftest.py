"""Fixtures: the demo forms and permissions published, the test KPIs, the fixed claims and budgets."""

from __future__ import annotations

import pytest
from kpi_samples import DEFINITIONS, TEST_KPIS, write_claims

from formwork.budgets.service import set_budget
from formwork.definitions import store
from formwork.extensions import db


@pytest.fixture
def registry(app):
    from formwork.plugins import current_registry

    return current_registry()


@pytest.fixture
def published(demo_org, registry):
    """The demo forms, routes and permissions, and the test KPIs, published."""
    for folder in ("forms", "routes", "permissions"):
        store.publish_path(DEFINITIONS / folder, registry=registry)
    for content in TEST_KPIS:
        store.publish(content, registry=registry)
    return demo_org


@pytest.fixture
def claims(published):
    """The fixed claims (written after the KPIs: their typed values are projected on write) and
    budgets: SALES 1000.00 in 2026-Q1 and 500.00 in 2026-Q2 (travel), FIN 0 in 2026-Q1."""
    records = write_claims(published)
    set_budget("SALES", "travel", "2026-Q1", "600.00")
    set_budget("SALES", "office", "2026-Q1", "400.00")
    set_budget("SALES", "travel", "2026-Q2", "500.00")
    set_budget("FIN", "travel", "2026-Q1", "0")
    db.session.commit()
    return records
