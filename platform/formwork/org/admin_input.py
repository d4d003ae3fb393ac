"""Reading what an administrator typed (a form field or a JSON value) into checked values.

The pages and the API hand the same raw values to ``org.administration``; a bad one is an
``AdminRefused`` naming the input, so both answer with the same message beside the same field.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..input_limits import NUL, row_id
from .admin_scope import AdminScope
from .models import Department, Role, User

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
DEPARTMENT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
ROLE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AdminRefused(ValueError):
    """A change an administrator asked for that cannot be made; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class OutOfScope(LookupError):
    """The object does not exist or is outside what the administrator administers (answer 404)."""


def text(value: Any, field: str, *, max_length: int, required: bool = True) -> str | None:
    """One line of text: trimmed, without NUL, at most ``max_length`` characters."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise AdminRefused(field, _("This field is required."))
        return None
    if not isinstance(value, str):
        raise AdminRefused(field, _("Enter text."))
    value = " ".join(value.split())
    if NUL in value:
        raise AdminRefused(field, _("The text must not contain the NUL character."))
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        # Invisible control characters make names that look alike and break spreadsheets.
        raise AdminRefused(field, _("The text must not contain control characters."))
    if len(value) > max_length:
        raise AdminRefused(field, _("At most %(n)s characters.", n=max_length))
    return value


def matching(value: Any, field: str, pattern: re.Pattern[str], message: str, *, max_length: int) -> str:
    checked = text(value, field, max_length=max_length) or ""
    if not pattern.match(checked):
        raise AdminRefused(field, message)
    return checked


def email(value: Any, field: str = "email") -> str | None:
    checked = text(value, field, max_length=254, required=False)
    if checked is not None and not EMAIL.match(checked):
        raise AdminRefused(field, _("Enter an e-mail address such as name@example.com."))
    return checked


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _looks_like_id(value: Any) -> bool:
    """An id (a number, or text of digits), as opposed to a code or a user name."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())


def department(
    scope: AdminScope, value: Any, field: str, *, required: bool = True, open_only: bool = True
) -> Department | None:
    """A department in scope, by id or code; an unknown one and one out of scope read the same.
    ``open_only``: a closed department is refused (nobody joins, nothing is put under it)."""
    if is_blank(value):
        if required:
            raise AdminRefused(field, _("Choose a department."))
        return None
    found: Department | None = None
    ident = row_id(value)
    if ident is not None:
        found = db.session.get(Department, ident)
    if found is None and isinstance(value, str) and NUL not in value and len(value) <= 64:
        found = db.session.scalar(select(Department).where(Department.code == value.strip()))
    if found is None or not scope.covers_department(found.id):
        raise AdminRefused(field, _("No such department."))
    if open_only and not found.active:
        raise AdminRefused(field, _("This department is closed."))
    return found


def person(scope: AdminScope | None, value: Any, field: str, *, required: bool = True) -> User | None:
    """An active person by id or user name, in ``scope`` when one is given."""
    if is_blank(value):
        if required:
            raise AdminRefused(field, _("Choose a person."))
        return None
    found: User | None = None
    if _looks_like_id(value):
        ident = row_id(value)
        found = db.session.get(User, ident) if ident is not None else None
    if found is None and isinstance(value, str) and NUL not in value and len(value) <= 80:
        found = db.session.scalar(select(User).where(User.username == value.strip().lower()))
    if found is None or (scope is not None and not scope.covers_user(found)):
        raise AdminRefused(field, _("No such person."))
    if not found.active:
        raise AdminRefused(field, _("%(name)s has left.", name=found.display_name))
    return found


def role(value: Any, field: str = "role") -> Role:
    """A role by id or key."""
    found: Role | None = None
    if _looks_like_id(value):
        ident = row_id(value)
        found = db.session.get(Role, ident) if ident is not None else None
    elif isinstance(value, str) and NUL not in value and len(value) <= 64:
        found = db.session.scalar(select(Role).where(Role.key == value.strip()))
    if found is None:
        raise AdminRefused(field, _("No such role."))
    return found


def days(value: Any, field: str = "days") -> int | None:
    """Days until a token expires: empty for never, else a whole number from 1 to 3650."""
    if is_blank(value):
        return None
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip()) if len(value.strip()) <= 5 else None
    if number is None or not 1 <= number <= 3650:
        raise AdminRefused(field, _("Enter a number of days from 1 to 3650, or leave it empty."))
    return number


def day(value: Any, field: str = "until") -> date | None:
    """An ISO date (YYYY-MM-DD, ASCII digits), or None when left empty."""
    if is_blank(value):
        return None
    text_value = value.strip() if isinstance(value, str) else ""
    try:
        if len(text_value) != 10 or not text_value.isascii():
            raise ValueError(text_value)
        return date.fromisoformat(text_value)
    except ValueError:
        raise AdminRefused(field, _("Enter a date as YYYY-MM-DD, or leave it empty.")) from None
