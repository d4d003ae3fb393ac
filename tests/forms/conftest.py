"""Fixtures for the forms core: the sample form compiled with the app's registry, and a user context."""

from __future__ import annotations

import pytest
from forms_samples import sample_content

from formwork.forms.model import compile_form
from formwork.forms.state import context_for
from formwork.plugins import current_registry


@pytest.fixture
def registry(app):
    return current_registry()


@pytest.fixture
def compile_content(registry):
    return lambda content: compile_form(content, registry)


@pytest.fixture
def form(compile_content):
    return compile_content(sample_content())


@pytest.fixture
def ctx(demo_org):
    return context_for(demo_org["alice"])


@pytest.fixture(autouse=True)
def english(app):
    """Messages are asserted in English: run each test inside an English request."""
    from flask_babel import refresh

    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh()
        yield
