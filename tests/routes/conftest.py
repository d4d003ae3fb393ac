"""Fixtures for route tests: the demo organisation and demo forms published, and helpers to check route
YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from formwork.definitions import store
from formwork.definitions.loader import read_source
from formwork.definitions.pipeline import check
from formwork.definitions.problems import Problem

ROOT = Path(__file__).resolve().parents[2]
FORMS = ROOT / "definitions" / "forms"
ROUTES = ROOT / "definitions" / "routes"


@pytest.fixture
def forms(app, demo_org) -> dict[str, Any]:
    """The demo forms, published (no routes yet): ``{key: DefinitionVersion}``."""
    return {r.definition.key: r.definition for r in store.publish_path(FORMS)}


@pytest.fixture
def problems_of(forms):
    """``problems_of(yaml_text) -> list[Problem]`` with file name and line, as the CLI reports them."""

    def _check(text: str) -> list[Problem]:
        document = read_source(text, "route.yaml")
        return check(document.content, None, document)

    return _check


def find(problems: list[Problem], pointer: str) -> Problem:
    """The problem at ``pointer`` (fails listing every problem when there is none)."""
    for problem in problems:
        if problem.pointer == pointer:
            return problem
    raise AssertionError(f"no problem at {pointer}; got: {[str(p) for p in problems]}")


BASE = """\
kind: route
key: claims
form: expense_claim
title: {zh-CN: 报销审批, en: Claim approval}
no_approver: refuse
steps:
  - key: head
    name: {zh-CN: 部门负责人, en: Head}
    approvers:
      - department_head: 0
  - key: finance
    name: {zh-CN: 财务, en: Finance}
    approvers:
      - role: finance_reviewer
"""
