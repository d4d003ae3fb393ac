"""Fixtures for printed vouchers: the demo forms, a ten-line expense claim with an approval trail."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from flask_babel import refresh
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[2]
FORMS_DIR = ROOT / "definitions" / "forms"


def pdf_text(pdf: bytes, tmp_path: Path | None = None) -> str:
    """The text of a PDF, read with pypdf (a Python library: no system tool is needed)."""
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def pdf_fonts(pdf: bytes, tmp_path: Path | None = None) -> str:
    """The names of the fonts embedded in a PDF, one a line (subset prefixes such as ``ABCDEF+`` kept)."""
    reader = PdfReader(io.BytesIO(pdf))
    names = set()
    for page in reader.pages:
        fonts = page.get("/Resources", {}).get_object().get("/Font", {})
        for font in fonts.get_object().values():
            font = font.get_object()
            if font.get("/FontDescriptor") or font.get("/DescendantFonts") or font.get("/BaseFont"):
                names.add(str(font.get("/BaseFont", "")))
    return "\n".join(sorted(names))


def pdf_page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def expense_content(**changes) -> dict:
    content = yaml.safe_load((FORMS_DIR / "expense_claim.yaml").read_text("utf-8"))
    content.update(changes)
    return {k: v for k, v in content.items() if v is not None}


def claim_data(rows: int = 10, **overrides) -> dict:
    data = {
        "category": "travel",
        "reason": "上海客户拜访",
        "trip_destination": "上海",
        "trip_start": "2024-05-01",
        "trip_end": "2024-05-03",
        "lines": [
            {
                "date": f"2024-05-0{1 + index % 3}",
                "type": "transport",
                "amount": "1234.56",
                "invoice_no": str(12345678 + index),
            }
            for index in range(rows)
        ],
        "payee_name": "爱丽丝",
        "payee_bank": "中国工商银行上海分行",
        "payee_account": "6222021234567890123",
    }
    data.update(overrides)
    return data


@pytest.fixture(autouse=True)
def chinese(app):
    """Requests in this package print in Chinese unless a test asks otherwise."""
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        refresh()
        yield


@pytest.fixture
def published(app, demo_org):
    from formwork.definitions import store

    return {item.definition.key: item.definition for item in store.publish_path(FORMS_DIR)}


@pytest.fixture
def publish():
    """``publish(content) -> DefinitionVersion``: make ``content`` the current version of its form."""
    from formwork.definitions import store

    def _publish(content: dict):
        version, _ = store.publish(content)
        return version

    return _publish


@pytest.fixture
def make_claim(demo_org):
    """``make_claim(rows=10, owner="alice", **data) -> Record``: a submitted expense claim."""
    from formwork.workflow.submission import create_record

    def _make(rows: int = 10, owner: str = "alice", **overrides):
        return create_record("expense_claim", claim_data(rows, **overrides), demo_org[owner], submit=True)

    return _make


@pytest.fixture
def add_trail(demo_org):
    """``add_trail(record, [(step, action, actor, comment, on_behalf_of), ...])``: one process's trail."""
    from formwork.definitions.models import DefinitionVersion
    from formwork.extensions import db
    from formwork.workflow.models import Process, TrailEntry

    def _add(record, entries):
        route = DefinitionVersion(
            kind="route", key=f"print_test_{record.id}", version=1, content={}, checksum="0" * 64
        )
        db.session.add(route)
        db.session.flush()
        process = Process(
            record_id=record.id, route_id=route.id, status="approved", state={}, started_by_id=record.owner_id
        )
        db.session.add(process)
        db.session.flush()
        start = datetime(2024, 5, 6, 1, 0, tzinfo=timezone.utc)
        for index, (step, action, actor, comment, behalf) in enumerate(entries):
            db.session.add(
                TrailEntry(
                    process_id=process.id,
                    record_id=record.id,
                    step_key=step,
                    action=action,
                    actor_id=demo_org[actor].id if actor else None,
                    on_behalf_of_id=demo_org[behalf].id if behalf else None,
                    comment=comment,
                    at=start + timedelta(hours=index),
                )
            )
        db.session.commit()
        return process

    return _add


STANDARD_TRAIL = [
    ("dept_head", "approve", "bob", "情况属实，同意", None),
    ("finance_review", "approve", "grace", "票据齐全", "carol"),
    ("cashier", "approve", "grace", None, None),
]
