"""A small form that exercises every field type, and data that passes it."""

from __future__ import annotations

import copy

L = {"zh-CN": "字段", "en": "Field"}


def opt(value: str) -> dict:
    return {"value": value, "label": {"zh-CN": value, "en": value.title()}}


SAMPLE = {
    "kind": "form",
    "key": "sample",
    "title": {"zh-CN": "样例", "en": "Sample"},
    "title_field": "reason",
    "fields": [
        {"key": "reason", "type": "text", "label": L, "required": True, "max_length": 50},
        {
            "key": "category",
            "type": "choice",
            "label": L,
            "required": True,
            "options": [opt("travel"), opt("office"), opt("other")],
        },
        {
            "key": "destination",
            "type": "text",
            "label": L,
            "visible_when": "category == 'travel'",
            "required_when": "category == 'travel'",
        },
        {"key": "nights", "type": "integer", "label": L, "min": 0, "max": 30},
        {"key": "rate", "type": "decimal", "label": L, "scale": 4},
        {"key": "urgent", "type": "boolean", "label": L},
        {
            "key": "tags",
            "type": "multi_choice",
            "label": L,
            "options": [opt("a"), opt("b"), opt("c")],
            "max": 2,
        },
        {"key": "start", "type": "date", "label": L, "min": "2020-01-01"},
        {"key": "meeting", "type": "datetime", "label": L},
        {"key": "approver", "type": "user", "label": L},
        {"key": "cost_centre", "type": "department", "label": L},
        {"key": "code", "type": "text", "label": L, "pattern": "^[A-Z]{2}-[0-9]{4}$"},
        {"key": "ref", "type": "text", "label": L, "readonly": True, "default": "AUTO"},
        {"key": "locked_note", "type": "text", "label": L, "readonly_when": "urgent"},
        {
            "key": "lines",
            "type": "lines",
            "label": L,
            "min_rows": 1,
            "max_rows": 5,
            "fields": [
                {"key": "date", "type": "date", "label": L, "required": True},
                {"key": "quantity", "type": "integer", "label": L, "min": 1, "required": True},
                {
                    "key": "unit_price",
                    "type": "money",
                    "label": L,
                    "min": "0.01",
                    "max": "1000000",
                    "required": True,
                },
                {
                    "key": "amount",
                    "type": "computed",
                    "label": L,
                    "result_type": "money",
                    "expression": "quantity * unit_price",
                },
                {
                    "key": "note",
                    "type": "text",
                    "label": L,
                    "visible_when": "unit_price > 100",
                    "required_when": "unit_price > 100",
                },
                {
                    "key": "receipt",
                    "type": "attachment",
                    "label": L,
                    "max_files": 2,
                    "accept": [".pdf", ".png"],
                    "max_size": 2000,
                },
            ],
        },
        {
            "key": "total",
            "type": "computed",
            "label": L,
            "result_type": "money",
            "expression": "sum(lines.amount)",
        },
        {"key": "justification", "type": "long_text", "label": L, "required_when": "total >= 50000"},
    ],
    "validations": [
        {
            "rule": "total <= 200000",
            "field": "total",
            "message": {"zh-CN": "总额不能超过 200,000", "en": "The total cannot exceed 200,000"},
        },
        {
            "rule": "nights == null or nights <= 10 or coalesce(urgent, false)",
            "field": "nights",
            "message": {"zh-CN": "超过 10 晚须加急", "en": "More than 10 nights must be urgent"},
        },
    ],
}


def sample_content() -> dict:
    return copy.deepcopy(SAMPLE)


def valid_data(**overrides) -> dict:
    data = {
        "reason": "Customer visit",
        "category": "office",
        "lines": [
            {"date": "2024-05-01", "quantity": 2, "unit_price": "10.05"},
            {"date": "2024-05-02", "quantity": 1, "unit_price": "0.10"},
        ],
    }
    data.update(overrides)
    return data
