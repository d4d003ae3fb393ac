"""The main menu: its items, which one the current page belongs to, and the inbox count.

Every page marks its menu item with ``aria-current="page"``; a page below an item (a task below
the inbox, a record below my requests) marks that item, so people always see where they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from flask import request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..exports.audit_trail import reads_trail
from ..org.admin_scope import scope_of
from ..workflow.views import inbox_open_count


@dataclass(frozen=True)
class MenuItem:
    key: str
    href: str
    label: Any
    # Path prefixes of the pages that belong to this item (the longest match wins).
    prefixes: tuple[str, ...]
    # Shown only to the people this says yes to (None: everyone signed in).
    shown_to: Callable[[Any], bool] | None = None


MENU: tuple[MenuItem, ...] = (
    MenuItem("home", "/", _l("Home"), ("/",)),
    MenuItem("new", "/forms", _l("New record"), ("/forms",)),
    MenuItem("requests", "/requests", _l("My requests"), ("/requests", "/records")),
    MenuItem("inbox", "/inbox", _l("Inbox"), ("/inbox", "/tasks", "/settings/out-of-office")),
    MenuItem("dashboards", "/dashboards", _l("Dashboards"), ("/dashboards",)),
    MenuItem("kpis", "/kpis", _l("Indicators"), ("/kpis",)),
    MenuItem("admin", "/admin/users", _l("Administration"), ("/admin",)),
    MenuItem("audit", "/admin/audit", _l("Audit trail"), ("/admin/audit",), shown_to=reads_trail),
)
# Shown only to people who administer something (the pages answer 404 to anyone else).
ADMIN_ONLY = {"admin"}


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
    administers = _administers()
    return [
        {
            "key": item.key,
            "href": item.href,
            "label": item.label,
            "current": item.key == current,
            "count": inbox_open_count() if item.key == "inbox" else 0,
        }
        for item in MENU
        if (administers or item.key not in ADMIN_ONLY)
        and (item.shown_to is None or item.shown_to(current_user))
    ]


def _administers() -> bool:
    """Whether to offer Administration: known from the session's own query when the person signed
    in with the browser (no statement of its own), else asked. The pages decide access themselves."""
    known = getattr(current_user, "holds_administrator_role", None)
    if known is not None:
        return bool(known)
    return scope_of(current_user) is not None


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
