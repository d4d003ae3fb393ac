"""Printable documents: records as PDF vouchers (``render.record_pdf``), per-form print templates."""

from __future__ import annotations
