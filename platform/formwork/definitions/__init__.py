"""The definition language: parsing, schema and semantic validation, immutable versions."""

from __future__ import annotations
