"""Sample definitions, data and files for the records tests."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import yaml
from werkzeug.datastructures import FileStorage

ROOT = Path(__file__).resolve().parents[2]
L = {"zh-CN": "字段", "en": "Field"}

RECEIPTS = {
    "kind": "form",
    "key": "receipts",
    "title": {"zh-CN": "票据", "en": "Receipts"},
    "title_field": "note",
    "fields": [
        {"key": "note", "type": "text", "label": L},
        {
            "key": "files",
            "type": "attachment",
            "label": L,
            "max_files": 2,
            "max_size": 1000,
            "accept": [".pdf", ".png"],
        },
        {
            "key": "items",
            "type": "lines",
            "label": L,
            "fields": [
                {"key": "what", "type": "text", "label": L},
                {
                    "key": "scan",
                    "type": "attachment",
                    "label": L,
                    "accept": [".jpg", ".png"],
                    "max_size": 1000,
                },
            ],
        },
    ],
}

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


def expense_content() -> dict:
    return yaml.safe_load((ROOT / "definitions" / "forms" / "expense_claim.yaml").read_text("utf-8"))


def claim_data(rows: int = 3, **overrides) -> dict:
    data = {
        "category": "office",
        "reason": "Printer toner for the Sales team",
        "lines": [
            {
                "date": date.today().replace(day=1).isoformat(),
                "type": "supplies",
                "amount": f"{index}.10",
                "invoice_no": f"{12345678 + index}",
            }
            for index in range(1, rows + 1)
        ],
        "payee_name": "Alice",
        "payee_bank": "ICBC Shanghai",
        "payee_account": "6222021234567890123",
    }
    data.update(overrides)
    return data


def file_storage(name: str, content: bytes) -> FileStorage:
    return FileStorage(io.BytesIO(content), filename=name)
