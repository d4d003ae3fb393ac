"""Finding a person: a search key per user (name, user name, pinyin and its initials) and a small
JSON endpoint the person pickers ask as the name is typed, instead of listing every user.

``王爱丽`` is found by ``王``, ``wangaili`` and ``wal``; a department by its name in either language.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, jsonify, render_template, request
from flask_login import current_user, login_required
from pypinyin import Style, lazy_pinyin
from sqlalchemy import event, or_, select

from ..extensions import db
from ..i18n import current_locale_tag
from .models import Department, User

people_bp = Blueprint("people", __name__)

SEARCH_KEY_LENGTH = 300
MAX_RESULTS = 20
MAX_QUERY = 50
_HAN = re.compile(r"[\u3400-\u9fff]")


def search_key(username: str | None, display_name: str | None) -> str:
    """Lower-case words a person is found by: user name, name, the name's pinyin and initials."""
    name = (display_name or "").strip()
    words = [(username or "").lower(), name.lower()]
    han = "".join(_HAN.findall(name))
    if han:
        syllables = lazy_pinyin(han, style=Style.NORMAL, errors="ignore")
        words += ["".join(syllables), "".join(s[:1] for s in syllables)]
    latin = re.findall(r"[A-Za-z]+", name)
    if len(latin) > 1:
        words.append("".join(w[0] for w in latin).lower())
    return " ".join(dict.fromkeys(w for w in words if w))[:SEARCH_KEY_LENGTH]


@event.listens_for(User, "before_insert")
@event.listens_for(User, "before_update")
def _keep_search_key(_mapper: Any, _connection: Any, user: User) -> None:
    # Kept with every write of a user, so no path that creates or renames people can miss it.
    user.search_key = search_key(user.username, user.display_name)


def find_people(text: str, *, exclude: int | None = None, limit: int = MAX_RESULTS) -> list[dict[str, Any]]:
    """Active people whose name, user name, pinyin (or initials) or department contains ``text``."""
    needle = text.strip().lower()[:MAX_QUERY]
    stmt = (
        select(User, Department)
        .outerjoin(Department, Department.id == User.department_id)
        .where(User.active.is_(True))
        .order_by(User.display_name, User.id)
        .limit(limit)
    )
    if needle:
        # Wildcards in the text are literal: a search for "100%" means the text, not a pattern.
        stmt = stmt.where(
            or_(
                User.search_key.contains(needle, autoescape=True),
                Department.name_zh.contains(needle, autoescape=True),
                Department.name_en.icontains(needle, autoescape=True),
            )
        )
    if exclude is not None:
        stmt = stmt.where(User.id != exclude)
    tag = current_locale_tag()
    return [
        {
            "id": user.id,
            "username": user.username,
            "name": user.display_name,
            "department": department.name(tag) if department is not None else "",
            "label": f"{user.display_name} ({user.username})"
            + (f" · {department.name(tag)}" if department is not None else ""),
        }
        for user, department in db.session.execute(stmt)
    ]


@people_bp.get("/people")
@login_required
def people():
    """``GET /people?q=wal``: up to 20 matches as JSON, or as ``<option>``s for a datalist (htmx).

    A picker sends its own input (``?field=transfer_to&transfer_to=wal``); ``field`` names it.
    """
    field = request.args.get("field", "")
    text = request.args.get("q") or (request.args.get(field, "") if field and field != "field" else "")
    found = find_people(text, exclude=current_user.id)
    if request.headers.get("HX-Request"):
        return render_template("people/_options.html", people=found)
    return jsonify({"people": found})
