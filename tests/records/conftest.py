"""Fixtures for the records service: the demo organisation, the demo expense claim and an upload form,
published.
"""

from __future__ import annotations

import pytest
from flask_babel import refresh
from records_samples import RECEIPTS, expense_content

from formwork.definitions import store


@pytest.fixture(autouse=True)
def english(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh()
        yield


@pytest.fixture
def users(demo_org):
    return demo_org


@pytest.fixture
def expense(users):
    version, _ = store.publish(expense_content())
    return version


@pytest.fixture
def receipts(users):
    version, _ = store.publish(RECEIPTS)
    return version
