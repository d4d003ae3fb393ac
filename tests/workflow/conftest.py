"""Fixtures for the workflow runtime: the demo organisation, the expense claim form, routes published from
YAML.
"""

from __future__ import annotations

import pytest
import yaml
from flask_babel import refresh
from workflow_helpers import EXPENSE_ROUTE, ROOT

from formwork.definitions import store
from formwork.workflow import runtime


@pytest.fixture(autouse=True)
def english(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh()
        yield


@pytest.fixture
def org(demo_org):
    return demo_org


@pytest.fixture
def notes(monkeypatch):
    """Every notification sent, as ``(user_ids, kind, task_id)``, still passed on to the real service."""
    sent: list[tuple[list[int], str, int | None]] = []
    real = runtime.notifier()

    def recording(user_ids, kind, *, record=None, task=None, params=None, into=None):
        # The walk passes the people it holds as users, the others as ids.
        ids = sorted(getattr(person, "id", person) for person in user_ids)
        sent.append((ids, kind, task.id if task is not None else None))
        if real is not None:
            return real(user_ids, kind, record=record, task=task, params=params, into=into)

    monkeypatch.setattr(runtime, "notifier", lambda: recording)
    return sent


@pytest.fixture
def expense(org, notes):
    content = yaml.safe_load((ROOT / "definitions" / "forms" / "expense_claim.yaml").read_text("utf-8"))
    version, _ = store.publish(content)
    return version


@pytest.fixture
def publish_route(expense):
    """``publish_route(yaml_text_or_dict)`` → the published route version."""

    def _publish(content):
        if isinstance(content, str):
            content = yaml.safe_load(content)
        version, _ = store.publish(content)
        return version

    return _publish


@pytest.fixture
def expense_route(publish_route):
    return publish_route(EXPENSE_ROUTE)
