"""Fixtures for the API tests: the demo organisation with the demo forms published."""

from __future__ import annotations

from pathlib import Path

import pytest

FORMS_DIR = Path(__file__).resolve().parents[2] / "definitions" / "forms"


@pytest.fixture
def published(app, demo_org):
    """Publish every demo form; returns ``{form key: DefinitionVersion}``."""
    from formwork.definitions import store

    return {item.definition.key: item.definition for item in store.publish_path(FORMS_DIR)}


@pytest.fixture
def alice(client, login, published):
    """A client signed in as alice (an employee in Sales)."""
    return login(client, "alice")
