"""Budgets per department, category and period, and what routes and rules read of them."""

from __future__ import annotations
