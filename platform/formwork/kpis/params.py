"""A KPI request from query parameters, as the API and the pages read them.

``by=department,month``, ``from``/``to`` (ISO dates), ``department``/``submitter`` (ids),
``form``, a grain pinned to a period (``month=2026-03``), and any other parameter a choice
field's value (``category=travel``). Anything malformed is a ``QueryError`` naming it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from flask_babel import gettext as _

from ..input_limits import MAX_ROW_ID
from .model import GRAINS
from .query import QueryError, Request

NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
PERIOD = re.compile(r"[0-9]{4}(-[0-9A-Z]{2,3}(-[0-9]{2})?)?")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
ID = re.compile(r"[0-9]{1,12}")
RESERVED = ("by", "from", "to", "measure", "lang", "partial")
MAX_VALUE = 100


def _date(value: str, name: str) -> date:
    try:
        if not DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise QueryError(_('"%(name)s" must be a real date (YYYY-MM-DD)', name=name)) from None


def _id(value: str, name: str) -> int:
    if not ID.fullmatch(value) or not 1 <= int(value) <= MAX_ROW_ID:
        raise QueryError(_('"%(name)s" must be a whole number from 1 to %(max)s', name=name, max=MAX_ROW_ID))
    return int(value)


def parse(args: Mapping[str, str]) -> Request:
    """The ``Request`` the parameters describe (empty values count as not given)."""
    by: tuple[str, ...] = ()
    if args.get("by"):
        by = tuple(args["by"].split(","))
        if len(by) > 5 or not all(NAME.fullmatch(name) for name in by):
            raise QueryError(_('"by" must name at most 5 dimensions, comma-separated (department,month)'))
    start = _date(args["from"], "from") if args.get("from") else None
    end = _date(args["to"], "to") if args.get("to") else None
    filters: dict[str, Any] = {}
    for name, value in args.items():
        if name in RESERVED or value == "":
            continue
        if not NAME.fullmatch(name):
            raise QueryError(_('unknown parameter "%(name)s"', name=name[:64]))
        if len(value) > MAX_VALUE:
            raise QueryError(
                _('"%(name)s" must be a value of at most %(max)s characters', name=name, max=MAX_VALUE)
            )
        if name in ("department", "submitter", "approver"):
            filters[name] = _id(value, name)
        elif name in GRAINS and not PERIOD.fullmatch(value):
            raise QueryError(
                _('"%(name)s" must be a period as the rows label it (2026-03, 2026-Q1, 2026)', name=name)
            )
        else:
            filters[name] = value
    return Request(by, start, end, filters)
