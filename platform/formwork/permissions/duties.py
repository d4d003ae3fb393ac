"""Segregation of duties (不相容职务分离): pairs of roles one person must not hold together,
declared in the permission definitions (``segregation_of_duties``).

``declared_pairs()`` reads them from the definitions in force; ``pairs_for_grants`` is what
every role grant checks (registered with ``org.grants.on_pairs`` by the wiring): granting one
role of a pair to a person who holds the other in force is a conflict, refused unless the
administrator records an override reason. ``holders_of_both()`` lists the people who hold a
pair anyway (granted with an override, or before the pair was declared), for the review.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import select

from ..definitions import store
from ..definitions.problems import Problem
from ..extensions import db
from ..i18n import localized
from ..org.models import Role, RoleAssignment, in_force
from ..request_memo import once
from .model import KIND


@dataclass(frozen=True)
class Pair:
    roles: tuple[str, str]
    title: Mapping[str, str] | None
    source: str  # the permission definition that declares it

    def label(self, locale: str | None = None) -> str:
        if self.title:
            return localized(self.title, locale) if locale else next(iter(self.title.values()))
        return f"{self.roles[0]} + {self.roles[1]}"


def _read() -> tuple[Pair, ...]:
    found: dict[tuple[str, str], Pair] = {}
    for definition in store.current_versions(KIND):
        for spec in definition.content.get("segregation_of_duties") or ():
            first, second = sorted(spec["roles"])
            found.setdefault((first, second), Pair((first, second), spec.get("title"), definition.key))
    return tuple(found[key] for key in sorted(found))


def declared_pairs() -> tuple[Pair, ...]:
    """Every declared pair, once (read once per request)."""
    return once("segregation of duties", _read, tables=("definition_versions",))


def pairs_for_grants() -> list[tuple[tuple[str, str], str]]:
    """The declared pairs as ``org.grants`` checks them: (roles, label)."""
    return [(pair.roles, pair.label()) for pair in declared_pairs()]


def holders_of_both() -> list[dict[str, Any]]:
    """People who hold both roles of a declared pair now: ``{user, pair}`` rows."""
    pairs = declared_pairs()
    if not pairs:
        return []
    keys = {key for pair in pairs for key in pair.roles}
    rows = db.session.execute(
        select(RoleAssignment.user_id, Role.key)
        .join(Role, Role.id == RoleAssignment.role_id)
        .where(Role.key.in_(keys), in_force())
    ).all()
    held: dict[int, set[str]] = {}
    for user_id, key in rows:
        held.setdefault(user_id, set()).add(key)
    found = []
    for pair in pairs:
        for user_id, keys_held in sorted(held.items()):
            if set(pair.roles) <= keys_held:
                found.append({"user_id": user_id, "pair": pair})
    return found


def check_pairs(content: Mapping[str, Any], roles: set[str]) -> list[Problem]:
    """Publish-time check: each pair names two roles that exist."""
    problems = []
    for index, spec in enumerate(content.get("segregation_of_duties") or ()):
        for position, key in enumerate(spec.get("roles") or ()):
            if key not in roles:
                problems.append(
                    Problem(f"unknown role {key!r}", f"/segregation_of_duties/{index}/roles/{position}")
                )
    return problems
