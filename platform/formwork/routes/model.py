"""The compiled form of a route definition: what the workflow runtime walks.

A route is a list of nodes run in order. A node is a ``Step`` (people decide),
a ``Parallel`` (branches that all run, then join) or a ``Branch`` (the first case
whose condition holds runs, else ``otherwise``). Conditions are named rules in one
durable-rules ruleset per route version (``RouteModel.ruleset``): the runtime
evaluates the record once per transition and gets the set of rule names that hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Union

if TYPE_CHECKING:  # only for annotations: the model stays a plain description of a route
    from ..expressions import CompiledExpression
    from ..expressions.env import TypeEnv
    from ..rules.compile import CompiledRuleset

# How a step's approvers are found (see ApproverSpec.kind):
#   user           value = user name
#   role           value = role key (organisation-wide holders, or holders covering the submitter's department
#                  when ``scope == "submitter_department"``)
#   manager        the submitter's manager
#   department_head  head of the submitter's department ``levels`` up (0 = own department)
#   field          value = a user (or department → its head) field of the form
#   expression     value = rule-free expression evaluated in Python, giving a user id or list of ids
# ``department`` (optional, a department code) names a fixed department instead of the submitter's:
#   department_head → the head of that department ``levels`` up (``{department_head: 0, department: PUR}``);
#   role            → holders whose assignment covers that department.
ApproverKind = Literal["user", "role", "manager", "department_head", "field", "expression"]
Mode = Literal["one", "all", "any", "k_of_n", "percent"]
OnReject = Literal["reject", "return_to_submitter", "return_to_step"]
SelfApproval = Literal["skip", "send_up", "allow", "forbid"]
NoApprover = Literal["skip", "fallback", "refuse"]
OnTimeout = Literal["remind", "escalate", "approve", "reject"]
# When the submitter may withdraw a running request (see docs/routes.md).
Withdraw = Literal["until_first_decision", "while_running", "never"]


@dataclass(frozen=True)
class ApproverSpec:
    kind: ApproverKind
    value: str | None = None
    levels: int = 0
    scope: Literal["organisation", "submitter_department"] = "organisation"
    pointer: str = ""  # where in the definition, for error messages
    department: str | None = None  # a department code (see above); None = the submitter's department


@dataclass(frozen=True)
class Deadline:
    hours: float
    remind_every_hours: float | None = None
    on_timeout: OnTimeout = "remind"
    escalate_to: tuple[ApproverSpec, ...] = ()


@dataclass(frozen=True)
class Step:
    key: str
    name: dict[str, str]  # {"zh-CN": ..., "en": ...}
    approvers: tuple[ApproverSpec, ...]
    mode: Mode = "one"
    k: int | None = None  # k_of_n
    percent: int | None = None  # percent
    on_reject: OnReject = "reject"
    return_to: str | None = None  # step key, with on_reject == "return_to_step"
    when: str | None = None  # rule name in the ruleset; the step is skipped when it does not hold
    deadline: Deadline | None = None
    cc: tuple[ApproverSpec, ...] = ()
    self_approval: SelfApproval | None = None  # None: the route's setting
    no_approver: NoApprover | None = None
    fallback: tuple[ApproverSpec, ...] = ()
    pointer: str = ""
    when_label: dict[str, str] | None = None  # the condition in words, for people (never the expression)
    outcome: dict[str, str] | None = None  # what approving here means (the cashier's: paid)
    approve_comment: str = "optional"  # "required": approving needs a comment (no batch approval)


@dataclass(frozen=True)
class Parallel:
    key: str
    branches: tuple[tuple["Node", ...], ...]
    pointer: str = ""


@dataclass(frozen=True)
class Case:
    when: str  # rule name
    nodes: tuple["Node", ...]
    name: dict[str, str] | None = None  # the case in words ({zh-CN: 预算内, en: Within budget})


@dataclass(frozen=True)
class Branch:
    key: str
    cases: tuple[Case, ...]
    otherwise: tuple["Node", ...] = ()
    pointer: str = ""


Node = Union[Step, Parallel, Branch]


@dataclass(frozen=True)
class Alert:
    key: str
    when: str  # rule name
    notify: tuple[ApproverSpec, ...]
    message: dict[str, str]
    pointer: str = ""


# What a route does when a request ends (``on_approved`` / ``on_rejected``): give a role, or take one back.
ActionKind = Literal["grant_role", "revoke_role"]


@dataclass(frozen=True)
class RouteAction:
    """One action run in the transaction of the decision that ends the request (workflow.route_actions).

    Each reference is either a literal or the key of a form field holding it (``*_field``).
    """

    kind: ActionKind
    role: str | None = None  # a role key
    role_field: str | None = None  # or a choice/text field holding one
    to_field: str | None = None  # a user field; None: the submitter
    until_field: str | None = None  # a date field: the grant ends at the end of that business day
    department: str | None = None  # a department code: the grant is limited to it
    department_field: str | None = None  # or a department field
    reason_field: str | None = None  # a text field recorded as the grant's reason
    pointer: str = ""


@dataclass
class RouteModel:
    key: str
    form_key: str
    title: dict[str, str]
    nodes: tuple[Node, ...]
    steps: dict[str, Step]  # every step by key, wherever it sits
    ruleset: CompiledRuleset | None  # every condition and alert of this version (None: no conditions)
    conditions: dict[str, str] = field(default_factory=dict)  # rule name -> expression source
    alerts: tuple[Alert, ...] = ()
    self_approval: SelfApproval = "skip"
    no_approver: NoApprover = "refuse"
    fallback: tuple[ApproverSpec, ...] = ()
    withdraw: Withdraw = "until_first_decision"
    # A hand-over to someone a later step names: "leave_out" (they are left out of that step) or
    # "refuse" (the transfer or signer-after is refused); see workflow.runtime.
    hand_over: str = "leave_out"
    # Facts the conditions read beyond the form (e.g. "budget", "duplicate_invoices"), provided by fact
    # providers.
    facts: frozenset[str] = frozenset()
    # The facts read by step and branch conditions (alerts aside): the facts a transition after the
    # start needs, since alerts are evaluated only when a request starts.
    step_facts: frozenset[str] = frozenset()
    # Per-fact settings from the definition, e.g. {"budget": {"category": "budget_category", "amount": ...}}.
    fact_settings: dict[str, dict[str, str]] = field(default_factory=dict)
    version: int = 0  # the definition version compiled (0: checked before publishing, never registered)
    definition_id: int | None = None  # the DefinitionVersion row, when compiled from one
    # What the conditions were checked against, and each condition compiled for the Python evaluator
    # (rule name -> CompiledExpression): for explaining and replaying routes, and parity with the engine.
    type_env: TypeEnv | None = None
    compiled_conditions: dict[str, CompiledExpression] = field(default_factory=dict)
    # Things worth knowing that do not stop publishing (definitions.problems.Problem, warning=True),
    # e.g. a budget chosen by a field the submitter may set to anything.
    warnings: tuple[object, ...] = ()
    # Run when the request ends approved / rejected (see RouteAction).
    on_approved: tuple[RouteAction, ...] = ()
    on_rejected: tuple[RouteAction, ...] = ()
