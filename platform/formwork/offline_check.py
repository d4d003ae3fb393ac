"""Checking definitions with no database: what ``formwork definitions validate`` does by default.

The files are checked as one set, as ``publish`` would check them, except that what
``publish`` looks up in the database is looked up in the definitions folder instead:

* a route's form is the form with that key in the folder (a route may be validated on its
  own: the rest of the folder is read for reference);
* the users, roles and departments a route names are looked up in the organisation
  files of the folder's ``org/`` (``kind: organisation``, the format of
  ``definitions/org/demo.yaml``) or in the files given with ``--org``. With none, those
  names cannot be checked: each route gets a warning saying so;
* a form is checked against the route of the folder that uses it (through the route's check).

No application, database or instance folder is involved: the checks run in a context of
their own, in which no Flask application is active even when the caller has one.

It runs every kind's own checks, so it sits above the kinds, beside the command line that
uses it, not inside ``definitions``, which the kinds build on.
"""

from __future__ import annotations

import contextvars
import logging
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .dashboards.model import compile_dashboard
from .definitions.loader import read_source
from .definitions.pipeline import (
    KIND_FOLDERS,
    CheckedSource,
    check_files,
    discover,
    pending,
    pending_of_kind,
)
from .definitions.problems import DefinitionError, Problem
from .forms.checks import form_problems
from .forms.model import compile_form
from .kpis.model import compile_kpi
from .permissions.lint import lint as lint_permission
from .permissions.model import compile_policy
from .routes.compile import compile_route

log = logging.getLogger(__name__)
ORG_FOLDER = "org"
ORG_KIND = "organisation"


# --- the organisation, from files ---------------------------------------------------------------


@dataclass
class FileOrg:
    """``routes.references.OrgLookup`` answered from organisation files.

    Roles listed on a user are held organisation-wide, as ``formwork demo seed`` assigns them.
    A user with ``active: false`` has left.
    """

    departments: dict[str, dict] = field(default_factory=dict)  # code → {"parent", "head"}
    users: dict[str, dict] = field(default_factory=dict)  # username → {"department", "roles", "active"}
    roles: set[str] = field(default_factory=set)

    def user_status(self, username: str) -> str | None:
        user = self.users.get(username)
        if user is None:
            return None
        return "active" if user["active"] else "inactive"

    def role_exists(self, key: str) -> bool:
        return key in self.roles

    def department_exists(self, code: str) -> bool:
        return code in self.departments

    def role_may_be_empty(self, key: str, *, submitter_department: bool, department: str | None) -> bool:
        return not any(user["active"] and key in user["roles"] for user in self.users.values())

    def _up(self, code: str | None, levels: int) -> str | None:
        seen: set[str] = set()
        while code is not None and levels > 0 and code not in seen:
            seen.add(code)
            code = (self.departments.get(code) or {}).get("parent")
            levels -= 1
        return code if levels == 0 and code in self.departments else None

    def _head(self, code: str | None) -> str | None:
        head = (self.departments.get(code) or {}).get("head") if code is not None else None
        return head if head is not None and self.user_status(head) == "active" else None

    def head_may_be_missing(self, levels: int, department: str | None) -> bool:
        if department is not None:
            return self._head(self._up(department, levels)) is None
        active = [user for user in self.users.values() if user["active"]]
        if any(user["department"] is None for user in active):
            return True  # someone without a department has no head at all
        return any(
            self._head(self._up(code, levels)) is None for code in {user["department"] for user in active}
        )


def _text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _entries(content: dict, name: str, problems: list[Problem]) -> list[tuple[str, dict]]:
    items = content.get(name) or []
    if not isinstance(items, list):
        problems.append(Problem(f"{name} must be a list", f"/{name}"))
        return []
    result = []
    for index, item in enumerate(items):
        if isinstance(item, dict):
            result.append((f"/{name}/{index}", item))
        else:
            problems.append(Problem("expected a mapping", f"/{name}/{index}"))
    return result


def _merge(org: FileOrg, content: dict) -> list[Problem]:
    """Add one organisation file to ``org``; its problems (the ones ``demo seed`` would refuse)."""
    problems: list[Problem] = []
    departments = _entries(content, "departments", problems)
    roles = _entries(content, "roles", problems)
    users = _entries(content, "users", problems)
    for pointer, row in departments:
        if _text(row.get("code")):
            org.departments[row["code"]] = {"parent": row.get("parent"), "head": row.get("head")}
        else:
            problems.append(Problem("a department needs a code", f"{pointer}/code"))
    for pointer, row in roles:
        if _text(row.get("key")):
            org.roles.add(row["key"])
        else:
            problems.append(Problem("a role needs a key", f"{pointer}/key"))
    for pointer, row in users:
        if not _text(row.get("username")):
            problems.append(Problem("a user needs a username", f"{pointer}/username"))
            continue
        held = row.get("roles") or []
        org.users[row["username"]] = {
            "department": row.get("department"),
            "roles": {_role_key(entry) for entry in held} if isinstance(held, list) else set(),
            "active": row.get("active", True) is not False,
        }
    return problems


def _consistency(org: FileOrg, content: dict) -> list[Problem]:
    """References inside an organisation file, once every file is merged."""
    problems: list[Problem] = []
    for pointer, row in _entries(content, "departments", []):
        if row.get("parent") is not None and row["parent"] not in org.departments:
            problems.append(Problem(f'unknown parent department "{row["parent"]}"', f"{pointer}/parent"))
        if row.get("head") is not None and row["head"] not in org.users:
            problems.append(Problem(f'unknown head "{row["head"]}"', f"{pointer}/head"))
    for pointer, row in _entries(content, "users", []):
        if row.get("department") not in org.departments:
            problems.append(Problem(f'unknown department "{row.get("department")}"', f"{pointer}/department"))
        if row.get("manager") is not None and row["manager"] not in org.users:
            problems.append(Problem(f'unknown manager "{row["manager"]}"', f"{pointer}/manager"))
        held = row.get("roles") or []
        if not isinstance(held, list):
            problems.append(Problem("roles must be a list of role keys", f"{pointer}/roles"))
            continue
        for index, entry in enumerate(held):
            key = _role_key(entry)
            if key not in org.roles:
                problems.append(Problem(f'unknown role "{key}"', f"{pointer}/roles/{index}"))
            if isinstance(entry, dict) and entry.get("department") not in org.departments:
                problems.append(
                    Problem(
                        f'unknown department "{entry.get("department")}"',
                        f"{pointer}/roles/{index}/department",
                    )
                )
    return problems


def _role_key(entry: object) -> str:
    """A user's role in the file: a key (organisation-wide) or ``{role: key, department: CODE}``."""
    if isinstance(entry, dict):
        return str(entry.get("role"))
    return str(entry)


@dataclass
class Organisation:
    """The organisation files read: the lookup (None when there were none) and their problems."""

    org: FileOrg | None
    sources: list[str]
    problems: list[CheckedSource]


def read_organisation(
    paths: Iterable[Path], display: Callable[[Path], str] = str, *, explicit: bool = False
) -> Organisation:
    """Read organisation files. Files of another kind (``kind: budgets``) are skipped, unless
    ``explicit`` (the user named them), when that is a problem."""
    org = FileOrg()
    sources: list[str] = []
    read: list[CheckedSource] = []  # the organisation files, checked again once all are merged
    checked: list[CheckedSource] = []
    for path in paths:
        name = display(path)
        try:
            document = read_source(path, name)
        except DefinitionError as exc:
            checked.append(CheckedSource(path, None, exc.problems))
            continue
        content = document.content
        if not isinstance(content, dict) or content.get("kind") != ORG_KIND:
            if explicit:
                checked.append(
                    CheckedSource(
                        path,
                        document,
                        document.locate(
                            [Problem(f"not an organisation file: it needs kind: {ORG_KIND}", "/kind")]
                        ),
                    )
                )
            continue
        sources.append(name)
        item = CheckedSource(path, document, document.locate(_merge(org, content)))
        read.append(item)
        checked.append(item)
    for item in read:
        assert item.document is not None
        item.problems.extend(item.document.locate(_consistency(org, item.content)))
    return Organisation(org if sources else None, sources, [c for c in checked if c.problems])


def organisation_files(root: Path) -> list[Path]:
    folder = root / ORG_FOLDER
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in (".yaml", ".yml", ".json")
    )


def definitions_root(path: Path) -> Path:
    """The definitions folder ``path`` belongs to: itself, or above a kind folder (``forms/``)."""
    folder = path if path.is_dir() else path.parent
    return folder.parent if folder.name in KIND_FOLDERS else folder


# --- the checks --------------------------------------------------------------------------------


@dataclass
class OfflineChecks:
    """The semantic checks of each kind, against the set being checked and ``org``."""

    org: FileOrg | None
    org_hint: str
    internal_errors: int = 0

    def as_table(self) -> dict[str, Callable[[dict, Any], list[Problem]]]:
        return {
            "form": self._guarded(self.form, "form"),
            "route": self._guarded(self.route, "route"),
            "permission": self._guarded(self.permission, "permission"),
            "kpi": self._guarded(self.kpi, "kpi"),
            "dashboard": self._guarded(self.dashboard, "dashboard"),
        }

    def _guarded(
        self, check: Callable[[dict, Any], list[Problem]], kind: str
    ) -> Callable[[dict, Any], list[Problem]]:
        def run(content: dict, registry: Any) -> list[Problem]:
            try:
                return check(content, registry)
            except Exception as exc:  # a checker bug: reported in one line, never passed, never a traceback
                self.internal_errors += 1
                detail = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]
                log.debug("internal error while checking %s %r", kind, content.get("key"), exc_info=True)
                return [
                    Problem(
                        f"internal error while checking this {kind} ({detail}); this is a fault in "
                        "Formwork, not necessarily in the file",
                        "",
                    )
                ]

        return run

    def form(self, content: dict, registry: Any) -> list[Problem]:
        return form_problems(content, registry)[1]

    def _form_of(self, registry: Any) -> Callable[[str], Any]:
        def form_of(key: str) -> Any:
            form_content = pending("form", key)
            if form_content is None:
                return None
            try:
                return compile_form(form_content, registry)
            except DefinitionError:
                return None  # its own problems are reported with it

        return form_of

    def kpi(self, content: dict, registry: Any) -> list[Problem]:
        """Compile against the forms and KPIs of the folder."""
        try:
            compile_kpi(content, self._form_of(registry), lambda key: pending("kpi", key))
        except DefinitionError as exc:
            return exc.problems
        return []

    def dashboard(self, content: dict, registry: Any) -> list[Problem]:
        """Compile against the KPIs of the folder (themselves compiled against its forms)."""

        def kpi_of(key: str) -> Any:
            kpi_content = pending("kpi", key)
            if kpi_content is None:
                return None
            try:
                return compile_kpi(kpi_content, self._form_of(registry), lambda other: pending("kpi", other))
            except DefinitionError:
                return None  # its own problems are reported with it

        try:
            compile_dashboard(content, kpi_of)
        except DefinitionError as exc:
            return exc.problems
        return []

    def permission(self, content: dict, registry: Any) -> list[Problem]:
        """Lint against the form and route of the folder; roles and departments only with org files."""
        form_key = str(content.get("form"))
        form = route = None
        route_broken = False
        if form_key != "*":
            form_content = pending("form", form_key)
            if form_content is None:
                return [
                    Problem(
                        f'unknown form "{form_key}": no form with this key in the definitions folder', "/form"
                    )
                ]
            try:
                form = compile_form(form_content, registry)
            except DefinitionError:
                return [Problem(f'form "{form_key}" has problems of its own; fix them first', "/form")]
            for other in pending_of_kind("route"):
                if other.get("form") == form_key:
                    try:
                        route = compile_route(other, registry, form=form, org=None)
                    except DefinitionError:
                        route_broken = True  # its own problems are reported with it
        companions = []
        for other in pending_of_kind("permission"):
            if other is not content and other.get("key") != content.get("key"):
                other_key = str(other.get("form"))
                try:
                    other_form = (
                        None if other_key == "*" else compile_form(pending("form", other_key) or {}, registry)
                    )
                    companions.append(compile_policy(other, form=other_form))
                except DefinitionError:
                    pass  # reported when that definition is checked
        problems = lint_permission(
            content,
            companions=companions,
            form=form,
            route=route,
            roles=self.org.roles if self.org is not None else None,
            departments=set(self.org.departments) if self.org is not None else None,
            functions=getattr(registry, "functions", None),
        )
        # Steps are checked against a route that compiles; a broken one's errors are its own.
        return [p for p in problems if not (route_broken and "/steps" in p.pointer)]

    def route(self, content: dict, registry: Any) -> list[Problem]:
        form_key = content["form"]
        form_content = pending("form", form_key)
        if form_content is None:
            return [
                Problem(
                    f'unknown form "{form_key}": no form with this key in the definitions folder', "/form"
                )
            ]
        try:
            form = compile_form(form_content, registry)
        except DefinitionError:
            return [Problem(f'form "{form_key}" has problems of its own; fix them first', "/form")]
        problems: list[Problem] = []
        if self.org is None:
            # compile_route checks "one route per form" only together with the organisation.
            for other in pending_of_kind("route"):
                if other.get("form") == form_key and other.get("key") != content["key"]:
                    problems.append(
                        Problem(
                            f'form "{form_key}" already follows route "{other.get("key")}"; a form '
                            "has one route",
                            "/form",
                        )
                    )
                    break
            problems.append(
                Problem(
                    f"the users, roles and departments this route names were not checked: {self.org_hint}",
                    "/steps",
                    warning=True,
                )
            )
        try:
            model = compile_route(content, registry, form=form, org=self.org)
        except DefinitionError as exc:
            problems.extend(exc.problems)
        else:
            problems.extend(model.warnings)  # type: ignore[arg-type]
        return problems


@dataclass
class OfflineResult:
    checked: list[CheckedSource]
    organisation: Organisation
    internal_errors: int

    @property
    def problems(self) -> list[Problem]:
        found = [p for item in self.organisation.problems for p in item.problems]
        found.extend(p for item in self.checked for p in item.problems)
        return found

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if not p.warning]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.warning]


def validate_offline(
    target: Path, registry: Any, *, org_paths: Iterable[Path] = (), display: Callable[[Path], str] = str
) -> OfflineResult:
    """Check the definitions at ``target`` (a folder or one file) against each other and the org files.

    Raises ``FileNotFoundError`` when ``target`` does not exist.
    """
    files = discover(target)
    root = definitions_root(target)
    explicit = [Path(p) for p in org_paths]
    organisation = read_organisation(explicit or organisation_files(root), display, explicit=bool(explicit))
    hint = (
        f"no organisation file (kind: {ORG_KIND}) in {display(root / ORG_FOLDER)}; "
        "give one with --org to check them"
    )
    checks = OfflineChecks(organisation.org, hint)
    wanted = {p.resolve() for p in files}
    context = [p for p in (discover(root) if root.is_dir() else []) if p.resolve() not in wanted]

    def run() -> list[CheckedSource]:
        return check_files(files, registry, display, checks=checks.as_table(), context=context)

    # A fresh context: no Flask application is active inside it, so nothing reaches for a database.
    checked = contextvars.Context().run(run)
    return OfflineResult(checked, organisation, checks.internal_errors)
