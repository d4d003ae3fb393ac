"""The administration tests read messages in English (the browser asks for English); the Chinese
interface has its own test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def english_browser(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client
