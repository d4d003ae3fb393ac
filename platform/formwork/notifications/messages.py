"""What each kind of notification says, in the reader's language.

Texts are English msgids translated through the interface catalog
(``translations/zh_CN``), so the same wording serves e-mail, webhooks and the
in-app list. They are rendered outside any request (the due-work command, the
delivery worker), so the catalog is loaded directly for the recipient's locale
instead of through the request-bound Flask-Babel machinery.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from babel import Locale, support
from flask import current_app

from ..i18n import LOCALE_TAGS, localized, normalise_locale
from ..input_limits import one_line


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext "mark for extraction" name
    """Marks a string for the catalog; it is translated later, in the reader's language."""
    return message


# kind -> (subject, first line of the body). ``%(record)s`` is the form title with the
# record number and title, e.g. "Expense claim #12 Customer visit".
KINDS: dict[str, tuple[str, str]] = {
    "task_assigned": (N_("Approval needed: %(record)s"), N_("%(record)s is waiting for your approval.")),
    "reminder": (
        N_("Reminder: %(record)s is waiting for you"),
        N_("%(record)s is still waiting for your approval."),
    ),
    "escalated": (
        N_("Escalated to you: %(record)s"),
        N_("%(record)s passed its deadline without a decision and was escalated to you."),
    ),
    "approved": (N_("Approved: %(record)s"), N_("Your request %(record)s was approved.")),
    "rejected": (N_("Rejected: %(record)s"), N_("Your request %(record)s was rejected.")),
    "returned": (N_("Returned for changes: %(record)s"), N_("%(record)s was returned to you for changes.")),
    "cc": (N_("For your information: %(record)s"), N_("%(record)s was copied to you for your information.")),
    "alert": (N_("Alert: %(record)s"), N_("An alert was raised on %(record)s.")),
    "withdrawn": (
        N_("Withdrawn: %(record)s"),
        N_("%(record)s was withdrawn by its submitter; no action is needed."),
    ),
    "transferred": (
        N_("Transferred to you: %(record)s"),
        N_("The approval of %(record)s was transferred to you."),
    ),
    "delegated": (
        N_("Delegated to you: %(record)s"),
        N_("You were asked to handle %(record)s; it goes back after your decision."),
    ),
    "recalled": (
        N_("Taken back: %(record)s"),
        N_("The person who delegated %(record)s to you has taken it back; no action is needed."),
    ),
    "task_returned": (
        N_("Back with you: %(record)s"),
        N_("The person you delegated %(record)s to has decided; it is back with you."),
    ),
    "kpi_alert": (
        N_("Indicator %(kpi)s: %(level)s"),
        N_("%(kpi)s (%(scope)s, %(period)s) is at %(value)s, past its %(level)s threshold of %(threshold)s."),
    ),
    "kpi_normal": (
        N_("Indicator %(kpi)s: back to normal"),
        N_("%(kpi)s (%(scope)s, %(period)s) is back within its target at %(value)s."),
    ),
}
# A kind a plugin or a newer runtime uses that has no text of its own yet.
GENERIC: tuple[str, str] = (N_("Update: %(record)s"), N_("There is news on %(record)s."))

# Optional body lines, shown when the parameter is present.
DETAIL_LINES: tuple[tuple[str, str], ...] = (
    ("step", N_("Step: %(step)s")),
    ("actor", N_("By: %(actor)s")),
    ("on_behalf_of", N_("On behalf of: %(on_behalf_of)s")),
    ("due_at", N_("Due: %(due_at)s")),
    ("comment", N_("Comment: %(comment)s")),
    ("invoices", N_("Invoice numbers also on other claims: %(invoices)s")),
    ("url", N_("Open: %(url)s")),
)
RECORD_LABEL = N_("%(form)s #%(number)s")
A_REQUEST = N_("a request")


@lru_cache(maxsize=16)
def _catalog(directories: str, locale: str) -> support.NullTranslations:
    translations = support.Translations()
    for directory in directories.split(";"):
        if directory:
            loaded = support.Translations.load(directory, [locale], "messages")
            if isinstance(loaded, support.Translations):  # a NullTranslations: no catalog for the locale here
                translations.merge(loaded)
    return translations


def translator(locale: str):
    """``gettext`` for ``locale`` (``zh_CN`` or ``en``); English is the source text."""
    if locale == "en":
        return lambda message: message
    directories = str(current_app.config.get("BABEL_TRANSLATION_DIRECTORIES", ""))
    # Catalogs live under Babel's own name for the locale (``zh_CN`` parses to ``zh_Hans_CN``).
    return _catalog(directories, str(Locale.parse(locale))).gettext


def locale_of(user: Any) -> str:
    """A user's language: their saved preference, else the site default, else Chinese."""
    return (
        normalise_locale(getattr(user, "locale", None))
        or normalise_locale(current_app.config.get("BABEL_DEFAULT_LOCALE"))
        or "zh_CN"
    )


class _Params(dict):
    """Formatting parameters where a missing one reads as empty instead of failing."""

    def __missing__(self, key: str) -> str:
        return ""


def _text(value: Any, tag: str) -> str:
    if isinstance(value, Mapping):
        return localized(value, tag)
    return "" if value is None else str(value)


def record_label(params: Mapping[str, Any], locale: str) -> str:
    """``Expense claim #12 Customer visit`` in ``locale``; pieces that are missing are left out."""
    gettext = translator(locale)
    tag = LOCALE_TAGS.get(locale, "zh-CN")
    form = _text(params.get("form_title") or params.get("form"), tag)
    number = params.get("record_id")
    title = _text(params.get("title"), tag)
    if form and number is not None:
        label = gettext(RECORD_LABEL) % {"form": form, "number": number}
    elif number is not None:
        label = f"#{number}"
    else:
        label = form
    label = f"{label} {title}".strip() if title else label
    return label or gettext(A_REQUEST)


def render(kind: str, params: Mapping[str, Any] | None, locale: str) -> tuple[str, str]:
    """The subject and body of a notification of ``kind`` for a reader of ``locale``."""
    params = dict(params or {})
    gettext = translator(locale)
    tag = LOCALE_TAGS.get(locale, "zh-CN")
    values = _Params({key: _text(value, tag) for key, value in params.items()})
    values["record"] = record_label(params, locale)
    if params.get("step_name"):  # the step's bilingual name rather than its key
        values["step"] = _text(params["step_name"], tag)
    subject_id, first_line = KINDS.get(kind, GENERIC)
    lines = [gettext(first_line) % values]
    if values.get("message"):  # an alert's own text, already in the reader's language
        lines.append(values["message"])
    for key, line in DETAIL_LINES:
        if values.get(key):
            lines.append(gettext(line) % values)
    # The subject is an e-mail header: one line, whatever a record's title holds.
    return one_line(gettext(subject_id) % values), "\n".join(lines)
