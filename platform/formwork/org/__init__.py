"""The organisation: departments, users, roles, sign-in and API tokens."""

from __future__ import annotations

from .access import has_any_role, roles_required
from .tokens import create_token

__all__ = ["create_token", "has_any_role", "roles_required"]
