"""Fixtures for the definition pipeline tests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]

MINIMAL_FORM: dict[str, Any] = {
    "kind": "form",
    "key": "trip",
    "title": {"zh-CN": "出差申请", "en": "Trip request"},
    "fields": [
        {"key": "destination", "type": "text", "label": {"zh-CN": "目的地", "en": "Destination"}},
        {"key": "amount", "type": "money", "label": {"zh-CN": "金额", "en": "Amount"}, "min": "0.01"},
    ],
}

# Line numbers matter: tests assert on them.
TRIP_YAML = """\
kind: form
key: trip
title: {zh-CN: 出差申请, en: Trip request}
fields:
  - key: category
    type: choice
    label: {zh-CN: 类别, en: Category}
    options:
      - {value: travel, label: {zh-CN: 差旅, en: Travel}}
      - {value: other, label: {zh-CN: 其他, en: Other}}
  - key: destination
    type: text
    label: {zh-CN: 目的地, en: Destination}
    visible_when: category == 'travel'
  - key: amount
    type: money
    label: {zh-CN: 金额, en: Amount}
    min: 0.01
"""


@pytest.fixture
def form() -> dict[str, Any]:
    """A fresh copy of a small valid form definition."""
    return copy.deepcopy(MINIMAL_FORM)


@pytest.fixture
def trip_yaml() -> str:
    return TRIP_YAML


@pytest.fixture
def registry(app):
    from formwork.plugins import current_registry

    return current_registry()


@pytest.fixture
def definitions_dir(tmp_path) -> Path:
    """A definitions folder with two valid forms under forms/ and an organisation file beside it."""
    root = tmp_path / "defs"
    (root / "forms").mkdir(parents=True)
    (root / "org").mkdir()
    (root / "org" / "people.yaml").write_text("departments: []\n", encoding="utf-8")
    (root / "forms" / "trip.yaml").write_text(TRIP_YAML, encoding="utf-8")
    (root / "forms" / "leave.json").write_text(
        '{"kind": "form", "key": "leave", "title": {"zh-CN": "请假", "en": "Leave"},\n'
        ' "fields": [{"key": "days", "type": "integer",'
        ' "label": {"zh-CN": "天数", "en": "Days"}, "min": 1}]}\n',
        encoding="utf-8",
    )
    return root
