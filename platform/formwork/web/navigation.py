"""The main menu: its items, which one the current page belongs to, and the inbox count.

Every page marks its menu item with ``aria-current="page"``; a page below an item (a task below
the inbox, a record below my requests) marks that item, so people always see where they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..workflow.views import inbox_open_count


@dataclass(frozen=True)
class MenuItem:
    key: str
    href: str
    label: Any
    # Path prefixes of the pages that belong to this item (the longest match wins).
    prefixes: tuple[str, ...]


MENU: tuple[MenuItem, ...] = (
    MenuItem("home", "/", _l("Home"), ("/",)),
    MenuItem("new", "/forms", _l("New record"), ("/forms",)),
    MenuItem("requests", "/requests", _l("My requests"), ("/requests", "/records")),
    MenuItem("inbox", "/inbox", _l("Inbox"), ("/inbox", "/tasks", "/settings/out-of-office")),
    MenuItem("kpis", "/kpis", _l("Indicators"), ("/kpis",)),
)


def _belongs(path: str, prefix: str) -> bool:
    if prefix == "/":
        return path == "/"
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def active_key(path: str) -> str | None:
    """The menu item ``path`` belongs to: the one with the longest matching prefix."""
    best: tuple[int, str] | None = None
    for item in MENU:
        for prefix in item.prefixes:
            if _belongs(path, prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), item.key)
    return best[1] if best else None


def _menu_items() -> list[dict[str, Any]]:
    current = active_key(request.path)
    return [
        {
            "key": item.key,
            "href": item.href,
            "label": item.label,
            "current": item.key == current,
            "count": inbox_open_count() if item.key == "inbox" else 0,
        }
        for item in MENU
    ]


class _Menu:
    """The menu items, worked out when a template shows the menu: a fragment (a live evaluation,
    an htmx list) never does, so it never pays for the inbox count."""

    def __iter__(self):
        return iter(_menu_items())


def navigation() -> dict[str, Any]:
    """Template context: the menu items, each with ``current`` and (the inbox) its open count."""
    if not getattr(current_user, "is_authenticated", False):
        return {}
    return {"nav_items": _Menu()}
