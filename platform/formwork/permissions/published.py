"""Permission definitions against what is published: the check before publishing, the policies in force.

``check_permission(content, registry)`` has the signature of the definitions pipeline's
semantic checks, so registering the kind is one line: it lints ``content`` against the
form and route being published with it (the pipeline's pending set) or else the published
ones, the organisation in the database, and the other permission definitions.

``policies_for(form_key)`` is what the read and write paths ask: the current versions of the
permission definitions for that form and for every form, compiled once per version (a
version never changes, so the cache never goes stale; a publish is a new version and counts
from the next request, in every worker). Within one request the policies in force are read
once: a detail page asks for them for the scope, the field rights and the search, and each
read is a few statements.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select

from ..definitions import in_force, pipeline, store
from ..definitions.models import DefinitionVersion
from ..definitions.problems import DefinitionError, Problem
from ..extensions import db
from ..forms import catalogue
from ..forms.model import compile_form
from ..org.models import Department, Role
from ..plugins import current_registry
from ..request_memo import once
from ..routes.compile import compile_route
from ..routes.store import current_route
from . import duties
from .lint import lint
from .model import KIND, Policy, PolicySet, compile_policy
from .versions import compile_version

log = logging.getLogger(__name__)


def _form(key: str, registry: Any) -> Any:
    """The compiled form ``key``: from the set being published, else the published version."""
    pending = pipeline.pending("form", key)
    if pending is not None:
        try:
            return compile_form(pending, registry)
        except DefinitionError:
            return None  # its own problems are reported with it
    definition = store.current_version("form", key)
    if definition is None:
        return None
    try:
        return catalogue.compiled_form(definition)
    except catalogue.FormUnavailable:
        return None


def _route(form_key: str, form: Any, registry: Any) -> Any:
    for content in pipeline.pending_of_kind("route"):
        if content.get("form") == form_key:
            try:
                return compile_route(content, registry, form=form, org=None)
            except DefinitionError:
                return None
    found = current_route(form_key)
    return found[1] if found is not None else None


def _roots() -> tuple[Path, ...]:
    if not has_app_context():
        return ()
    folder = Path(current_app.config.get("FORMWORK_DEFINITIONS_DIR") or "definitions")
    return (folder.parent, folder)


def compiled_policy(definition: DefinitionVersion) -> Policy:
    """The ``Policy`` of a stored permission version, compiled once per process."""
    if definition.kind != KIND:
        raise ValueError(f"{definition.kind} {definition.key} is not a permission definition")
    form_key = definition.content.get("form") if isinstance(definition.content, dict) else None
    form = None
    if form_key != "*":
        form_version = store.current_version("form", str(form_key))
        form = catalogue.compiled_form(form_version) if form_version is not None else None

    def build() -> Policy:
        return compile_version(definition, form=form, roots=_roots())

    return store._cache().get_or_build((definition.id, definition.checksum), build)


def current_policies() -> list[Policy]:
    """Every permission definition's current version, compiled (one that no longer compiles is left out
    and logged: it was valid when published, so only a form changed since can break it).

    Read once per request (``request_memo``): a publish counts from the next request. Definitions
    are versions added, never changed or removed, so what is published is the same as long as the
    published set's stamp (``definitions.in_force``) is: one small statement per request asks it,
    and the policies compiled for a stamp are kept (per application, like every compiled definition)."""
    return list(once("permission policies", _published_policies, tables=("definition_versions",)))


def _published_policies() -> list[Policy]:
    return store._cache().get_or_build(("permission policies", *in_force.stamp()), _read_current_policies)


def _read_current_policies() -> list[Policy]:
    policies = []
    for definition in store.current_versions(KIND):
        try:
            policies.append(compiled_policy(definition))
        except (DefinitionError, catalogue.FormUnavailable) as exc:
            log.error(
                "permission %s version %s cannot be compiled: %s", definition.key, definition.version, exc
            )
    return policies


def policies_for(form_key: str) -> PolicySet:
    """The policies in force for the records of ``form_key`` (empty: no permission definition yet)."""
    return PolicySet.of(form_key, current_policies())


def check_permission(content: dict, registry: Any) -> list[Problem]:
    """The semantic check of a permission definition (``definitions.pipeline.SemanticCheck``)."""
    registry = current_registry() if registry is None else registry  # as the route check does
    form_key = str(content.get("form"))
    form = _form(form_key, registry) if form_key != "*" else None
    route = _route(form_key, form, registry) if form is not None else None
    companions: list[Policy] = []
    for definition in store.current_versions(KIND):
        if definition.key != content.get("key") and pipeline.pending(KIND, definition.key) is None:
            try:
                companions.append(compiled_policy(definition))
            except (DefinitionError, catalogue.FormUnavailable):
                pass  # reported when that definition is checked
    for other in pipeline.pending_of_kind(KIND):
        if other is not content and other.get("key") != content.get("key"):
            other_key = str(other.get("form"))
            try:
                other_form = _form(other_key, registry) if other_key != "*" else None
                companions.append(compile_policy(other, form=other_form))
            except DefinitionError:
                pass  # reported when that definition is checked
    roles = set(db.session.scalars(select(Role.key)))
    return duties.check_pairs(content, roles) + lint(
        content,
        form=form,
        route=route,
        roles=roles,
        departments=set(db.session.scalars(select(Department.code))),
        companions=companions,
        functions=getattr(registry, "functions", None),
    )
