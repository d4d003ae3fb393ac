"""Published routes: which route a form follows now, and each route version compiled once per process.

A route version is compiled against the form version that was current when it was
published (the newest form version stored before it), so what its conditions mean
never changes afterwards — even when the form is published again later. The
compiled route's ruleset is registered with the rules engine here, once per process.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..definitions import store
from ..definitions.models import DefinitionVersion
from ..extensions import db
from .compile import compile_route, content_digest
from .model import RouteModel

# The form each route version follows, by (version id, checksum): a version never changes, so
# this is read from its content once per process, not on every submission. Bounded; cleared when full.
_FORM_OF_VERSION: dict[tuple[int, str], str | None] = {}
_FORM_OF_VERSION_SIZE = 4096

# Built once (every submission runs it): id and checksum of the newest version of every route.
_CURRENT_ROUTES = store.current_statement("route", DefinitionVersion.id, DefinitionVersion.checksum)


def _form_of(version_id: int, checksum: str) -> str | None:
    key = (version_id, checksum)
    if key not in _FORM_OF_VERSION:
        version = db.session.get(DefinitionVersion, version_id)
        content = version.content if version is not None and isinstance(version.content, dict) else {}
        form = content.get("form")
        if len(_FORM_OF_VERSION) >= _FORM_OF_VERSION_SIZE:
            _FORM_OF_VERSION.clear()
        _FORM_OF_VERSION[key] = form if isinstance(form, str) else None
    return _FORM_OF_VERSION[key]


def route_for_form(form_key: str) -> DefinitionVersion | None:
    """The current version of the route attached to ``form_key``, or None (the form has no route).

    One light statement lists the current route versions; a version's content is read only the
    first time this process meets it, and the matching version is then loaded by its id.
    """
    for version_id, checksum in db.session.execute(_CURRENT_ROUTES).all():
        if _form_of(version_id, checksum) == form_key:
            return db.session.get(DefinitionVersion, version_id)
    return None


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

    Keyed by id *and* checksum, like ``definitions.store.compiled_form``. Organisation
    references were checked when the version was published; they are not checked again
    here, so a role that lost its holders later never stops running requests.
    """
    if definition.kind != "route":
        raise ValueError(f"{definition.kind} {definition.key} is not a route")
    from ..plugins import current_registry

    def build() -> RouteModel:
        form_version = form_for_route(definition)
        if form_version is None:
            raise LookupError(f"route {definition.key} v{definition.version}: its form is not published")
        form = store.compiled_form(form_version)
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
    from ..rules import get_engine

    engine = get_engine()
    if not engine.is_registered(route.ruleset.name):
        engine.register(route.ruleset)


def current_route(form_key: str) -> tuple[DefinitionVersion, RouteModel] | None:
    """The current route version of a form and its compiled model, or None."""
    definition = route_for_form(form_key)
    return (definition, compiled_route(definition)) if definition is not None else None


__all__: list[Any] = ["compiled_route", "current_route", "form_for_route", "register", "route_for_form"]
