"""The semantic checks of route definitions, and of forms against the route attached to them."""

from __future__ import annotations

import logging
from typing import Any

from ..definitions.problems import Problem
from ..plugins import current_registry
from .compile import check_route

log = logging.getLogger(__name__)


def check_route_definition(content: dict, registry: Any) -> list[Problem]:
    """Every problem of a route definition; a checker bug is reported, never passed."""
    try:
        return check_route(content, current_registry() if registry is None else registry)
    except Exception:  # as for forms: a checker bug must neither pass the route nor crash the caller
        log.exception("unexpected error while checking route %r", content.get("key"))
        return [
            Problem("the route could not be checked because of an internal error; see the server log", "")
        ]
