"""The administration tests read messages in English (the browser asks for English); the Chinese
interface has its own test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def english_browser(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def admin(client, demo_org, bearer):
    """``admin(method, path, json=None)``: a call to the API as the demo administrator."""
    headers = bearer("admin")

    def call(method: str, path: str, json=None):
        return client.open(path, method=method, json=json, headers=headers)

    return call
