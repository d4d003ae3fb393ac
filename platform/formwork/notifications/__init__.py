"""Notifications: in-app messages, the outbox of side effects, channels."""

from __future__ import annotations
