"""Interface language (zh-CN / en): locale selection, the language switch and template helpers.

The interface speaks two languages. Which one a request gets is decided, in order, by the
signed-in user's saved preference, the choice made with the language switch (kept in the
session), the browser's ``Accept-Language`` header and finally ``BABEL_DEFAULT_LOCALE``.
Definitions carry their own bilingual labels (``{zh-CN: ..., en: ...}``); ``localized``
picks the right one for the current request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from babel import Locale
from flask import Blueprint, Flask, current_app, has_request_context, redirect, request, session
from flask_babel import get_locale
from flask_login import current_user

from .extensions import babel, db

# Babel locale identifiers, and the BCP 47 tags definitions and HTML use for the same languages.
LOCALES: tuple[str, ...] = ("zh_CN", "en")
LOCALE_TAGS: dict[str, str] = {"zh_CN": "zh-CN", "en": "en"}
LOCALE_NAMES: dict[str, str] = {"zh_CN": "中文", "en": "English"}

i18n_bp = Blueprint("i18n", __name__)


def normalise_locale(value: str | None) -> str | None:
    """Map any spelling of a supported language (``zh``, ``zh-CN``, ``zh_Hans``, ``en-GB``) to its locale."""
    if not value:
        return None
    primary = value.strip().replace("-", "_").split("_")[0].lower()
    if primary == "zh":
        return "zh_CN"
    if primary == "en":
        return "en"
    return None


def _browser_locale() -> str | None:
    """The best supported match for ``Accept-Language``, honouring the browser's quality values."""
    for tag, _quality in request.accept_languages:  # already sorted by quality
        locale = normalise_locale(tag)
        if locale:
            return locale
    return None


def select_locale() -> str:
    if has_request_context():
        user = current_user
        if user and getattr(user, "is_authenticated", False):
            locale = normalise_locale(getattr(user, "locale", None))
            if locale:
                return locale
        locale = normalise_locale(session.get("locale"))
        if locale:
            return locale
        locale = _browser_locale()
        if locale:
            return locale
    return normalise_locale(current_app.config.get("BABEL_DEFAULT_LOCALE")) or LOCALES[0]


def current_locale_tag() -> str:
    """The current interface language as a BCP 47 tag: ``zh-CN`` or ``en``."""
    locale = normalise_locale(str(get_locale() or "")) if has_request_context() else None
    return LOCALE_TAGS[locale or select_locale()]


def localized(mapping: Mapping[str, Any] | str | None, locale_tag: str | None = None) -> str:
    """Pick a language from a definition label such as ``{zh-CN: 报销, en: Expense}``.

    ``locale_tag`` defaults to the current request's language. Keys match without regard to
    case or ``-``/``_`` (``zh_cn`` is ``zh-CN``), then by language (``zh`` for ``zh-CN``, any
    ``zh-…`` for a Chinese reader); then the other interface language, then any value, so a
    label missing one translation still shows something. A plain string is returned as it is.
    """
    if mapping is None:
        return ""
    if isinstance(mapping, str):
        return mapping
    if not isinstance(mapping, Mapping):
        return str(mapping)
    texts = {str(key).replace("_", "-").lower(): value for key, value in mapping.items() if value}
    tag = (locale_tag or current_locale_tag()).replace("_", "-").lower()
    language = tag.split("-")[0]
    for key in (tag, language):
        if key in texts:
            return str(texts[key])
    for key, value in texts.items():
        if key.split("-")[0] == language:
            return str(value)
    for other in LOCALE_TAGS.values():
        if other.lower() in texts:
            return str(texts[other.lower()])
    return str(next(iter(texts.values()), ""))


def _local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 for ch in target):
        return None
    return target


@i18n_bp.post("/locale")
def set_locale():
    """The language switch: remember the choice in the session and, when signed in, on the user."""
    locale = normalise_locale(request.form.get("locale"))
    if locale:
        session["locale"] = locale
        if current_user.is_authenticated and hasattr(current_user, "locale"):
            current_user.locale = locale
            db.session.commit()
    target = _local_path(request.form.get("next")) or _local_path(
        request.referrer and urlsplit(request.referrer).path
    )
    return redirect(target or "/")


_PARSED_LOCALES: dict[str, Locale] = {}


def _selected_babel_locale() -> Locale:
    """The selected locale as a parsed ``Locale``: parsing one costs ~0.7 ms, so do it once per name."""
    name = select_locale()
    parsed = _PARSED_LOCALES.get(name)
    if parsed is None:
        parsed = _PARSED_LOCALES[name] = Locale.parse(name)
    return parsed


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=_selected_babel_locale, default_domain="messages")
    app.jinja_env.globals.update(
        localized=localized,
        current_locale_tag=current_locale_tag,
        interface_locales=LOCALE_NAMES,
        locale_tags=LOCALE_TAGS,
    )
    app.register_blueprint(i18n_bp)
