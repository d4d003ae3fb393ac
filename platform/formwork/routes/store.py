"""Published routes: which route a form follows now, and each route version compiled once per process.

A route version is compiled against the form version that was current when it was
published (the newest form version stored before it), so what its conditions mean
never changes afterwards — even when the form is published again later. The
compiled route's ruleset is registered with the rules engine here, once per process.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from ..definitions import in_force, store
from ..definitions.models import DefinitionVersion
from ..extensions import db
from ..forms import catalogue
from ..plugins import current_registry
from ..rules import get_engine
from .compile import compile_route, content_digest
from .model import RouteModel

# Built once: a new alias per call costs more than the statement it is part of.
_NEWER = aliased(DefinitionVersion)


def route_for_form(form_key: str) -> DefinitionVersion | None:
    """The current version of the route attached to ``form_key``, or None (the form has no route).

    In a request, from the published set (``definitions.in_force``); else one indexed statement:
    the route versions for this form (``form_key``) that no newer version of the same route
    replaces. Either way its cost depends on this form's routes, not on how many are published.
    """
    if in_force.usable():
        return in_force.route_for_form(form_key)
    return db.session.scalar(
        select(DefinitionVersion)
        .where(
            DefinitionVersion.kind == "route",
            DefinitionVersion.form_key == form_key,
            ~exists().where(
                _NEWER.kind == "route",
                _NEWER.key == DefinitionVersion.key,
                _NEWER.version > DefinitionVersion.version,
            ),
        )
        .order_by(DefinitionVersion.key)
        .limit(1)
    )


def form_for_route(definition: DefinitionVersion) -> DefinitionVersion | None:
    """The form version a route version was published against (the newest stored before it)."""
    form_key = definition.content.get("form") if isinstance(definition.content, dict) else None
    return db.session.scalar(
        select(DefinitionVersion)
        .where(
            DefinitionVersion.kind == "form",
            DefinitionVersion.key == form_key,
            DefinitionVersion.id < definition.id,
        )
        .order_by(DefinitionVersion.id.desc())
        .limit(1)
    )


def compiled_route(definition: DefinitionVersion) -> RouteModel:
    """The ``RouteModel`` of a route version, compiled once per process, its ruleset registered.

    Keyed by id *and* checksum, like ``definitions.catalogue.compiled_form``. Organisation
    references were checked when the version was published; they are not checked again
    here, so a role that lost its holders later never stops running requests.
    """
    if definition.kind != "route":
        raise ValueError(f"{definition.kind} {definition.key} is not a route")

    def build() -> RouteModel:
        form_version = form_for_route(definition)
        if form_version is None:
            raise LookupError(f"route {definition.key} v{definition.version}: its form is not published")
        form = catalogue.compiled_form(form_version)
        model = compile_route(
            definition.content,
            current_registry(),
            version=definition.version,
            definition_id=definition.id,
            form=form,
            org=None,
            digest=content_digest(definition.checksum, form_version.checksum),
        )
        register(model)
        return model

    return store._cache().get_or_build((definition.id, definition.checksum), build)


def register(route: RouteModel) -> None:
    """Register the route's ruleset with this process's engine (a no-op when it is there already)."""
    if route.ruleset is None:
        return

    engine = get_engine()
    if not engine.is_registered(route.ruleset.name):
        engine.register(route.ruleset)


def current_route(form_key: str) -> tuple[DefinitionVersion, RouteModel] | None:
    """The current route version of a form and its compiled model, or None."""
    definition = route_for_form(form_key)
    return (definition, compiled_route(definition)) if definition is not None else None


__all__: list[Any] = ["compiled_route", "current_route", "form_for_route", "register", "route_for_form"]
