"""Fixtures for the audit trail: the demo organisation with the expense claim, its route and permissions."""

from __future__ import annotations

import pytest
from audit_helpers import publish_file


@pytest.fixture
def expense(demo_org):
    """The expense claim form, its route and its permissions, as the demo publishes them."""
    publish_file("forms", "expense_claim.yaml")
    publish_file("routes", "expense_claim.yaml")
    publish_file("permissions", "all_forms.yaml")
    publish_file("permissions", "expense_claim.yaml")
    return demo_org
