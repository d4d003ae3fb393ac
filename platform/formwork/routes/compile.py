"""A route definition compiled into a ``RouteModel``, checked for everything that can be known in advance.

``compile_route(content, registry)`` resolves the form, walks the nodes, resolves
every approver reference (users, roles and departments against the organisation
when an application is available), checks returns, modes and deadlines, decides
for every step whether its approvers can resolve to nobody, and compiles every
condition (step ``when``, branch cases, alerts) against the form's fields plus the
facts (``$budget``...) into ONE rules-engine ruleset per route version. Every
mistake is collected and raised together as a ``DefinitionError`` whose problems
carry JSON pointers (``/steps/2/branch/cases/0/when``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from flask import has_app_context

from ..definitions import store
from ..definitions.loader import escape_pointer_token
from ..definitions.pipeline import pending, pending_of_kind
from ..definitions.problems import DefinitionError, Problem
from ..expressions import DEFAULT_CONTEXT, CompiledExpression, ExpressionError, T, TypeEnv, compile_expression
from ..forms import catalogue
from ..forms.model import compile_form
from ..plugins import current_registry
from ..rules import RulesEngineError, compile_ruleset, ruleset_name
from . import facts as fact_registry
from .actions import compile_actions
from .model import Alert, ApproverKind, ApproverSpec, Branch, Case, Deadline, Node, Parallel, RouteModel, Step
from .references import DatabaseOrg

APPROVER_KINDS: tuple[ApproverKind, ...] = (
    "user",
    "role",
    "manager",
    "department_head",
    "field",
    "expression",
)
USER_LIST = T.ListOf(T.USER)
_NO_ORG = object()
_DEFAULT = object()


def rule_for_step(step_key: str) -> str:
    return f"step:{step_key}"


def rule_for_case(branch_key: str, index: int) -> str:
    return f"case:{branch_key}:{index}"


def rule_for_alert(alert_key: str) -> str:
    return f"alert:{alert_key}"


def route_ruleset_name(key: str, version: int, digest: str = "") -> str:
    """``ruleset_name("route", key, version)``; ``digest`` (of the route and form content) keeps two
    databases served by one process (tests, several tenants) from claiming one name for different rules."""
    return ruleset_name("route", f"{key}_{digest}" if digest else key, version)


@dataclass
class _Position:
    """Where a step sits: the chain of (list pointer, index) from the route's top list down to it."""

    chain: tuple[tuple[str, int], ...]
    pointer: str


@dataclass
class _Compiler:
    content: dict
    registry: Any
    form: Any
    org: Any
    problems: list[Problem] = dc_field(default_factory=list)
    keys: dict[str, str] = dc_field(default_factory=dict)  # node key → pointer
    steps: dict[str, Step] = dc_field(default_factory=dict)
    positions: dict[str, _Position] = dc_field(default_factory=dict)
    returns: list[tuple[str, str, str]] = dc_field(default_factory=list)  # (step key, target, pointer)
    rules: dict[str, tuple[str, str]] = dc_field(default_factory=dict)  # rule name → (source, pointer)
    compiled: dict[str, CompiledExpression] = dc_field(default_factory=dict)
    env: TypeEnv | None = None
    approver_env: TypeEnv | None = None  # approver expressions run without facts (see workflow.approvers)

    def problem(self, message: str, pointer: str) -> None:
        self.problems.append(Problem(message, pointer))

    @property
    def functions(self) -> Mapping[str, Any] | None:
        return getattr(self.registry, "functions", None)

    # -- expressions ----------------------------------------------------------------------------
    def expression(
        self, source: Any, pointer: str, expected: T.Type | None = None, env: TypeEnv | None = None
    ) -> CompiledExpression | None:
        env = env or self.env
        if env is None:
            return None
        try:
            return compile_expression(source, env, self.functions, expected=expected)
        except ExpressionError as exc:
            where = (
                f"at position {exc.position + 1} of {source!r}"
                if exc.position is not None
                else f"in {source!r}"
            )
            self.problem(f"{exc.message} ({where})", pointer)
            return None

    def condition(self, rule_name: str, source: str, pointer: str) -> str:
        compiled = self.expression(source, pointer, T.BOOLEAN)
        if compiled is not None:
            self.compiled[rule_name] = compiled
            self.rules[rule_name] = (source, pointer)
        return rule_name

    # -- approvers ------------------------------------------------------------------------------
    def approvers(self, specs: Any, pointer: str) -> tuple[tuple[ApproverSpec, ...], list[str]]:
        """The specs, and for each one that can resolve to nobody, why (empty list: never nobody)."""
        result: list[ApproverSpec] = []
        empty_reasons: list[str] = []
        for index, spec in enumerate(specs or ()):
            here = f"{pointer}/{index}"
            approver, reason = self.approver(spec, here)
            if approver is not None:
                result.append(approver)
                if reason:
                    empty_reasons.append(reason)
        return tuple(result), (empty_reasons if len(empty_reasons) == len(result) else [])

    def approver(self, spec: dict, pointer: str) -> tuple[ApproverSpec | None, str | None]:
        kinds = [k for k in APPROVER_KINDS if k in spec]
        if len(kinds) != 1:
            named = ", ".join(kinds) if kinds else "none"
            self.problem(
                f"an approver names exactly one of {', '.join(APPROVER_KINDS)} (here: {named})", pointer
            )
            return None, None
        kind = kinds[0]
        value = spec[kind]
        scope = spec.get("scope", "organisation")
        department = spec.get("department")
        if "scope" in spec and kind != "role":
            self.problem('"scope" applies only to a role approver', f"{pointer}/scope")
        if department is not None and kind not in ("role", "department_head"):
            self.problem(
                '"department" applies only to role and department_head approvers', f"{pointer}/department"
            )
            department = None
        if department is not None and scope == "submitter_department":
            self.problem(
                'give either "department" or scope: submitter_department, not both', f"{pointer}/department"
            )
        org = self.org
        if department is not None and org is not None and not org.department_exists(department):
            self.problem(f'unknown department "{department}"', f"{pointer}/department")
            department = None
        here = f"{pointer}/{kind}"
        reason: str | None = None
        levels = 0
        text: str | None = None
        if kind == "user":
            text = value
            status = org.user_status(value) if org is not None else "active"
            if status is None:
                self.problem(f'unknown user "{value}"', here)
            elif status != "active":
                self.problem(f'user "{value}" is no longer active', here)
        elif kind == "role":
            text = value
            if org is not None:
                if not org.role_exists(value):
                    self.problem(f'unknown role "{value}"', here)
                elif org.role_may_be_empty(
                    value, submitter_department=scope == "submitter_department", department=department
                ):
                    reason = f'role "{value}" may have no holder' + (
                        " covering the submitter's department" if scope == "submitter_department" else ""
                    )
        elif kind == "manager":
            reason = "a submitter may have no manager"
        elif kind == "department_head":
            levels = int(value)
            if org is None or org.head_may_be_missing(levels, department):
                reason = (
                    "a department may have no head"
                    if levels == 0
                    else f"there may be no head {levels} level(s) up"
                )
        elif kind == "field":
            text = value
            reason = self.approver_field(value, here)
        elif kind == "expression":
            text = value
            compiled = self.expression(value, here, env=self.approver_env)
            if compiled is not None and not (
                T.is_assignable(compiled.type, T.USER) or T.is_assignable(compiled.type, USER_LIST)
            ):
                self.problem(
                    f"an approver expression must give a user or a list of users, not "
                    f"{compiled.type.describe()} (in {value!r})",
                    here,
                )
            reason = "an expression may give nobody"
        approver = ApproverSpec(
            kind=kind, value=text, levels=levels, scope=scope, pointer=pointer, department=department
        )
        return approver, reason

    def approver_field(self, path: str, pointer: str) -> str | None:
        if self.form is None:
            return None
        model = self.form.field(path)
        if model is None:
            self.problem(f'field "{path}" does not exist in form {self.form.key}', pointer)
            return None
        if model.parent is not None:
            self.problem(
                f'field "{path}" is inside line items; an approver field must be a single value', pointer
            )
            return None
        if model.value_type not in (T.USER, T.DEPARTMENT):
            self.problem(
                f'field "{path}" is {model.value_type.describe()}; an approver field must be a user or '
                "department field",
                pointer,
            )
            return None
        spec = model.spec
        if not model.required or spec.get("visible_when") or spec.get("required_when"):
            return f'field "{path}" may be empty'
        return None

    # -- nodes ----------------------------------------------------------------------------------
    def node_key(self, key: str, pointer: str) -> None:
        if key in self.keys:
            self.problem(
                f'the key "{key}" is already used at {self.keys[key]}; step, branch and parallel keys '
                "must be unique in a route",
                pointer,
            )
        else:
            self.keys[key] = pointer

    def nodes(self, items: list, pointer: str, chain: tuple[tuple[str, int], ...]) -> tuple[Node, ...]:
        result: list[Node] = []
        for index, item in enumerate(items):
            here = f"{pointer}/{index}"
            position = (*chain, (pointer, index))
            node: Node | None
            if "parallel" in item:
                node = self.parallel(item["parallel"], f"{here}/parallel", position)
            elif "branch" in item:
                node = self.branch(item["branch"], f"{here}/branch", position)
            else:
                node = self.step(item, here, position)
            if node is not None:
                result.append(node)
        return tuple(result)

    def parallel(self, spec: dict, pointer: str, chain: tuple[tuple[str, int], ...]) -> Parallel:
        self.node_key(spec["key"], f"{pointer}/key")
        branches = []
        for index, branch in enumerate(spec["branches"]):
            here = f"{pointer}/branches/{index}/steps"
            if not branch["steps"]:
                self.problem("a parallel branch needs at least one step", here)
            branches.append(self.nodes(branch["steps"], here, chain))
        return Parallel(spec["key"], tuple(branches), pointer)

    def branch(self, spec: dict, pointer: str, chain: tuple[tuple[str, int], ...]) -> Branch:
        key = spec["key"]
        self.node_key(key, f"{pointer}/key")
        cases = []
        for index, case in enumerate(spec["cases"]):
            here = f"{pointer}/cases/{index}"
            rule = self.condition(rule_for_case(key, index), case["when"], f"{here}/when")
            cases.append(Case(rule, self.nodes(case["steps"], f"{here}/steps", chain), case.get("name")))
        otherwise = self.nodes(spec.get("otherwise") or [], f"{pointer}/otherwise", chain)
        return Branch(key, tuple(cases), otherwise, pointer)

    def step(self, spec: dict, pointer: str, chain: tuple[tuple[str, int], ...]) -> Step:
        key = spec["key"]
        self.node_key(key, f"{pointer}/key")
        self.positions.setdefault(key, _Position(chain, pointer))
        approvers, empty = self.approvers(spec["approvers"], f"{pointer}/approvers")
        mode = spec.get("mode", "one")
        k, percent = spec.get("k"), spec.get("percent")
        if mode == "k_of_n" and k is None:
            self.problem("mode k_of_n needs k: how many approvals are enough", f"{pointer}/mode")
        if k is not None and mode != "k_of_n":
            self.problem("k applies only to mode k_of_n", f"{pointer}/k")
        if mode == "percent" and percent is None:
            self.problem(
                "mode percent needs percent: the share of approvers that must approve", f"{pointer}/mode"
            )
        if percent is not None and mode != "percent":
            self.problem("percent applies only to mode percent", f"{pointer}/percent")
        on_reject = spec.get("on_reject", "reject")
        return_to = spec.get("return_to")
        if on_reject == "return_to_step" and return_to is None:
            self.problem(
                "on_reject return_to_step needs return_to: the key of an earlier step", f"{pointer}/on_reject"
            )
        if return_to is not None:
            if on_reject != "return_to_step":
                self.problem("return_to applies only with on_reject: return_to_step", f"{pointer}/return_to")
            else:
                self.returns.append((key, return_to, f"{pointer}/return_to"))
        when = self.condition(rule_for_step(key), spec["when"], f"{pointer}/when") if "when" in spec else None
        if "when_label" in spec and "when" not in spec:
            self.problem("when_label describes a condition: give the step a when", f"{pointer}/when_label")
        deadline = self.deadline(spec["deadline"], f"{pointer}/deadline") if "deadline" in spec else None
        cc, _ = self.approvers(spec.get("cc"), f"{pointer}/cc")
        fallback, _ = self.approvers(spec.get("fallback"), f"{pointer}/fallback")
        no_approver = spec.get("no_approver")
        self.check_no_approver(key, pointer, empty, no_approver, bool(fallback))
        step = Step(
            key=key,
            name=spec["name"],
            approvers=approvers,
            mode=mode,
            k=k,
            percent=percent,
            on_reject=on_reject,
            return_to=return_to,
            when=when,
            deadline=deadline,
            cc=cc,
            self_approval=spec.get("self_approval"),
            no_approver=no_approver,
            fallback=fallback,
            pointer=pointer,
            when_label=spec.get("when_label"),
            outcome=spec.get("outcome"),
            approve_comment=spec.get("approve_comment") or "optional",
        )
        self.steps.setdefault(key, step)
        return step

    def check_no_approver(
        self, key: str, pointer: str, empty: list[str], step_rule: str | None, step_fallback: bool
    ) -> None:
        route_rule = self.content.get("no_approver")
        rule = step_rule or route_rule
        if empty and rule is None:
            self.problem(
                f'step "{key}" can find no approver ({"; ".join(empty)}), and the route does not say '
                "what happens then: set no_approver (skip, fallback or refuse) on the step or the route",
                f"{pointer}/approvers",
            )
        if rule == "fallback" and not step_fallback and not self.content.get("fallback"):
            where = f"{pointer}/no_approver" if step_rule else "/no_approver"
            self.problem("no_approver: fallback needs a fallback list (on the step or the route)", where)

    def deadline(self, spec: dict, pointer: str) -> Deadline | None:
        hours = self.positive(spec.get("hours"), f"{pointer}/hours", "a deadline")
        remind = (
            self.positive(spec["remind_every_hours"], f"{pointer}/remind_every_hours", "a reminder interval")
            if "remind_every_hours" in spec
            else None
        )
        on_timeout = spec.get("on_timeout", "remind")
        escalate_to, _ = self.approvers(spec.get("escalate_to"), f"{pointer}/escalate_to")
        if on_timeout == "escalate" and not escalate_to:
            self.problem(
                "on_timeout: escalate needs escalate_to: who takes the task over", f"{pointer}/on_timeout"
            )
        if escalate_to and on_timeout != "escalate":
            self.problem("escalate_to applies only with on_timeout: escalate", f"{pointer}/escalate_to")
        if hours is None:
            return None
        return Deadline(
            hours=hours, remind_every_hours=remind, on_timeout=on_timeout, escalate_to=escalate_to
        )

    def positive(self, value: Any, pointer: str, what: str) -> float | None:
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            self.problem(f"{what} must be a number of hours", pointer)
            return None
        if not number.is_finite() or number <= 0:
            self.problem(
                f"{what} must be more than 0 hours (got {value}); a time already past can never be met",
                pointer,
            )
            return None
        if number > 24 * 366 * 5:
            self.problem(f"{what} must be at most five years", pointer)
            return None
        return float(number)

    # -- after the walk -------------------------------------------------------------------------
    def check_returns(self) -> None:
        for key, target, pointer in self.returns:
            if target not in self.positions:
                known = ", ".join(sorted(self.positions)) or "none"
                self.problem(f'return_to names unknown step "{target}" (steps: {known})', pointer)
                continue
            if target == key:
                self.problem(f'step "{key}" cannot return to itself: the request would loop forever', pointer)
                continue
            if not _earlier(self.positions[target].chain, self.positions[key].chain):
                self.problem(
                    f'return_to "{target}" is not an earlier step on the way to "{key}"; a return may only '
                    "go back, never forward or sideways, so that every request can finish",
                    pointer,
                )


def _earlier(target: tuple[tuple[str, int], ...], step: tuple[tuple[str, int], ...]) -> bool:
    """Does the step at ``target`` always come before the step at ``step`` on one path?"""
    for (t_list, t_index), (s_list, s_index) in zip(target, step, strict=False):
        if t_list != s_list:
            return False  # different branches of one node: beside each other, not before
        if t_index != s_index:
            return t_index < s_index
    return False


def _resolve_form(key: str) -> tuple[Any, str | None]:
    """The compiled form a route is for: from the definitions published with it, else the current one."""

    content = pending("form", key)
    if content is not None:
        registry = None
        if has_app_context():
            registry = current_registry()
        try:
            return compile_form(content, registry), None
        except DefinitionError:
            return None, f'form "{key}" has problems of its own; fix them first'
    if not has_app_context():
        return None, f'unknown form "{key}"'
    version = store.current_version("form", key)
    if version is None:
        return (
            None,
            f'unknown form "{key}": no form with this key is published (or published with this route)',
        )
    return catalogue.compiled_form(version), None


def _default_org() -> Any:

    if not has_app_context():
        return None

    return DatabaseOrg()


def _other_route_for_form(key: str, form_key: str) -> str | None:

    for content in pending_of_kind("route"):
        if content.get("form") == form_key and content.get("key") != key:
            return content.get("key")
    if not has_app_context():
        return None
    for version in store.current_versions("route"):  # one read per publish (``reading_current_once``)
        if version.content.get("form") == form_key and version.key != key:
            return version.key
    return None


def compile_route(
    content: dict,
    registry: Any = None,
    *,
    version: int = 0,
    definition_id: int | None = None,
    form: Any = None,
    org: Any = _DEFAULT,
    digest: str = "",
) -> RouteModel:
    """Compile a route definition (already valid against its JSON Schema); raise ``DefinitionError``.

    ``form`` is the compiled form (default: from the definitions being published, else the
    current version); ``org`` answers organisation questions (default: the database when an
    application is available; ``None`` skips those checks). ``version`` names the ruleset.
    """
    if registry is None:
        if has_app_context():
            registry = current_registry()
    if org is _DEFAULT:
        org = _default_org()
    key, form_key = content["key"], content["form"]
    problems: list[Problem] = []
    if form is None:
        form, why = _resolve_form(form_key)
        if why:
            problems.append(Problem(why, "/form"))
    if org is not None:
        other = _other_route_for_form(key, form_key)
        if other is not None:
            problems.append(
                Problem(f'form "{form_key}" already follows route "{other}"; a form has one route', "/form")
            )
    compiler = _Compiler(content, registry, form, org, problems)
    fact_types = fact_registry.fact_types(registry)
    if form is not None:
        clashes = set(fact_types) & set(DEFAULT_CONTEXT)
        context = {**DEFAULT_CONTEXT, **{n: t for n, t in fact_types.items() if n not in clashes}}
        compiler.env = TypeEnv(form.type_env.fields, context=context)
        compiler.approver_env = form.type_env

    self_approval = content.get("self_approval", "skip")
    route_fallback, _ = compiler.approvers(content.get("fallback"), "/fallback")
    nodes = compiler.nodes(content["steps"], "/steps", ())
    compiler.check_returns()
    alerts = []
    for index, spec in enumerate(content.get("alerts") or ()):
        here = f"/alerts/{index}"
        rule = compiler.condition(rule_for_alert(spec["key"]), spec["when"], f"{here}/when")
        notify, _ = compiler.approvers(spec["notify"], f"{here}/notify")
        alerts.append(Alert(spec["key"], rule, notify, spec["message"], here))
    seen_alerts: dict[str, int] = {}
    for index, spec in enumerate(content.get("alerts") or ()):
        if spec["key"] in seen_alerts:
            compiler.problem(
                f'alert key "{spec["key"]}" is already used by alert {seen_alerts[spec["key"]]}',
                f"/alerts/{index}/key",
            )
        seen_alerts.setdefault(spec["key"], index)

    actions = compile_actions(content, compiler.problem, form, org)
    used_facts = _used_facts(compiler, fact_types)
    settings = _fact_settings(compiler, used_facts, registry)
    warnings = _freely_keyed_facts(compiler, used_facts, settings, registry)
    ruleset = _ruleset(compiler, route_ruleset_name(key, version, digest))
    if compiler.problems:
        raise DefinitionError(compiler.problems)
    return RouteModel(
        key=key,
        form_key=form_key,
        title=content["title"],
        nodes=nodes,
        steps=compiler.steps,
        ruleset=ruleset,
        conditions={name: source for name, (source, _) in compiler.rules.items()},
        alerts=tuple(alerts),
        self_approval=self_approval,
        no_approver=content.get("no_approver", "refuse"),
        fallback=route_fallback,
        withdraw=content.get("withdraw", "until_first_decision"),
        hand_over=content.get("hand_over", "leave_out"),
        facts=frozenset(used_facts),
        step_facts=_step_facts(compiler, used_facts),
        fact_settings=settings,
        version=version,
        definition_id=definition_id,
        type_env=compiler.env,
        compiled_conditions=dict(compiler.compiled),
        warnings=tuple(warnings),
        on_approved=actions["on_approved"],
        on_rejected=actions["on_rejected"],
    )


def _used_facts(compiler: _Compiler, fact_types: Mapping[str, T.Type]) -> dict[str, str]:
    """Fact name → pointer of the first condition reading it."""
    used: dict[str, str] = {}
    for name, expression in compiler.compiled.items():
        for reference in expression.context_references:
            root = reference.lstrip("$").split(".", 1)[0]
            if root in fact_types and root not in used:
                used[root] = compiler.rules[name][1]
    return used


def _step_facts(compiler: _Compiler, used: Mapping[str, str]) -> frozenset[str]:
    """The used facts that some step or branch condition reads (not only an alert)."""
    alert_rules = {rule_for_alert(spec["key"]) for spec in compiler.content.get("alerts") or ()}
    found: set[str] = set()
    for name, expression in compiler.compiled.items():
        if name in alert_rules:
            continue
        for reference in expression.context_references:
            root = reference.lstrip("$").split(".", 1)[0]
            if root in used:
                found.add(root)
    return frozenset(found)


def _fact_settings(compiler: _Compiler, used: Mapping[str, str], registry: Any) -> dict[str, dict[str, str]]:
    table = fact_registry.providers(registry)
    declared = compiler.content.get("facts") or {}
    result: dict[str, dict[str, str]] = {}
    for name, values in declared.items():
        here = f"/facts/{escape_pointer_token(name)}"
        provider = table.get(name)
        if provider is None:
            known = ", ".join(sorted(table)) or "none"
            compiler.problem(f'unknown fact "{name}"; known facts: {known}', here)
            continue
        result[name] = {**provider.defaults, **values}
    for name, pointer in used.items():
        provider = table[name]
        if name not in declared and provider.needs_settings:
            compiler.problem(
                f"this condition reads ${name}, so the route must say how to find it: add "
                f"facts: {{{name}: {{...}}}} (see docs/routes.md)",
                pointer,
            )
            continue
        merged = result.setdefault(name, dict(provider.defaults))
        if provider.check is not None and compiler.form is not None:
            base = f"/facts/{escape_pointer_token(name)}" if name in declared else pointer
            for message, setting in provider.check(merged, compiler.form):
                where = f"{base}/{escape_pointer_token(setting)}" if name in declared else base
                compiler.problem(f"${name}: {message}", where)
    return result


def _freely_keyed_facts(
    compiler: _Compiler, used: Mapping[str, str], settings: Mapping[str, Mapping[str, str]], registry: Any
) -> list[Problem]:
    """Warnings for facts keyed by a field the submitter may set to anything: whoever fills in the
    form would choose whose budget (or other value) applies to them, and so which steps run."""
    table = fact_registry.providers(registry)
    declared = compiler.content.get("facts") or {}
    warnings: list[Problem] = []
    if compiler.form is None:
        return warnings
    for name in used:
        provider = table.get(name)
        for setting in getattr(provider, "key_settings", ()) if provider else ():
            field_key = (settings.get(name) or {}).get(setting)
            model = compiler.form.field(field_key) if field_key else None
            if model is None or not model.type.freely_chosen(model):
                continue
            where = f"/facts/{escape_pointer_token(name)}" if name in declared else used[name]
            if name in declared and setting in declared[name]:
                where += f"/{escape_pointer_token(setting)}"
            warnings.append(
                Problem(
                    f'${name} is chosen by field "{field_key}", which the submitter may set to any value: '
                    f"they pick whose {name} applies (and so which steps run). Constrain the field (for a "
                    f"department field: choices: own or own_and_below, any_for_roles for those who may "
                    f'choose any), or leave "{setting}" out',
                    where,
                    warning=True,
                )
            )
    return warnings


def _ruleset(compiler: _Compiler, name: str) -> Any:
    if not compiler.compiled or compiler.env is None:
        return None
    try:
        return compile_ruleset(name, compiler.compiled, compiler.env, compiler.functions)
    except (RulesEngineError, ExpressionError) as exc:
        # Find which condition the engine cannot hold, to point at it.
        for rule_name, expression in compiler.compiled.items():
            try:
                compile_ruleset(name, {rule_name: expression}, compiler.env, compiler.functions)
            except (RulesEngineError, ExpressionError) as single:
                compiler.problem(
                    f"the rules engine cannot evaluate this condition: {single.message}",
                    compiler.rules[rule_name][1],
                )
                return None
        compiler.problem(f"the route's conditions cannot go to the rules engine: {exc.message}", "/steps")
        return None


def content_digest(*checksums: str) -> str:
    """A short, stable digest of the route's and its form's content, for the ruleset name."""
    return hashlib.sha256(":".join(checksums).encode()).hexdigest()[:10]


def check_form_against_routes(form: Any, registry: Any) -> list[Problem]:
    """Problems a new version of a form would cause to the published route attached to it.

    A route version stays compiled against the form version it was published with, but the
    records of the new form version run through it: a field it reads must not disappear or
    change type. (A route published in the same batch is checked against the new form anyway.)
    """

    if not has_app_context():
        return []
    problems: list[Problem] = []
    for version in store.current_versions("route"):  # one read per publish (``reading_current_once``)
        content = version.content if isinstance(version.content, dict) else {}
        if content.get("form") != form.key or pending("route", version.key) is not None:
            continue
        try:
            compile_route(content, registry, form=form, org=None)
        except DefinitionError as exc:
            for problem in exc.problems[:10]:
                problems.append(
                    Problem(
                        f'route "{version.key}" (version {version.version}) would no longer work with '
                        f"this form: {problem.pointer}: {problem.message}; "
                        "change the route in the same publish",
                        "/fields",
                    )
                )
    return problems


def check_route(content: dict, registry: Any) -> list[Problem]:
    """The problems of a route definition (none but warnings when it may be published)."""
    try:
        model = compile_route(content, registry)
    except DefinitionError as exc:
        return list(exc.problems)
    return list(model.warnings)  # type: ignore[arg-type]
