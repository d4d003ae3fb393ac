"""Helpers for the audit trail tests: reading the trail, tampering with it as an attacker would,
publishing the demo's definitions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select, text

from formwork import business_time
from formwork.audit.models import AuditEntry
from formwork.definitions import store
from formwork.extensions import db

ROOT = Path(__file__).resolve().parents[2]


def entries(action: str | None = None) -> list[AuditEntry]:
    db.session.expire_all()
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query))


def tamper(statement: str, **params: Any) -> None:
    """Run ``statement`` on ``audit_entries`` as someone with database access: on PostgreSQL the
    append-only trigger is first bypassed (a superuser turning triggers off for the session)."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(statement), params)
    db.session.expire_all()


def publish_file(*parts: str):
    content = yaml.safe_load((ROOT / "definitions" / Path(*parts)).read_text("utf-8"))
    version, _ = store.publish(content)
    return version


def claim_data(amount: str = "1200.00", **overrides: Any) -> dict:
    data = {
        "category": "other",
        "reason": "Customer workshop",
        "lines": [
            {
                "date": business_time.today().replace(day=1).isoformat(),
                "type": "other",
                "amount": amount,
                "invoice_no": "12345678",
            }
        ],
        "payee_name": "Payee",
        "payee_bank": "ICBC Shanghai",
        "payee_account": "6222021234567890123",
    }
    data.update(overrides)
    return data


def details(entry: AuditEntry) -> Any:
    return json.loads(entry.details) if entry.details else None
