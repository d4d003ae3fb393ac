"""Every URL of the application, with hostile values in every place a value can go: never a 5xx.

The URLs come from ``app.url_map``, so a new endpoint is covered without anyone adding it here.
Each is called as an employee and as an administrator, with: path ids beyond the database's
INTEGER range and in non-ASCII digits; query parameters, form fields, JSON members and the
``Idempotency-Key`` header holding NUL, line breaks, Unicode digits and huge numbers. What
each answer says is tested elsewhere; here the bar is a 4xx (or a success) and no exception.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from datetime import date
from pathlib import Path

import pytest

from formwork import create_app
from formwork.definitions import store
from formwork.extensions import db
from formwork.notifications.models import Notification
from formwork.workflow import submission
from formwork.workflow.models import Task

ROOT = Path(__file__).resolve().parents[2]

# Values that have crashed a view before: each a place where Python and the database disagree.
HOSTILE = [
    "2147483648",  # one past PostgreSQL's INTEGER
    "9223372036854775808",  # one past BIGINT
    "9" * 40,
    "-1",
    "0",
    "²",  # a digit to str.isdigit(), not to int()
    "٣",  # Arabic-Indic three: int() reads it as 3
    "１２",  # full-width digits
    "a\x00b",  # PostgreSQL refuses NUL in text and JSONB
    "line\r\nbreak",
    "para\u2028graph",
    "x" * 5000,
]

QUERY_NAMES = (
    "page",
    "per_page",
    "q",
    "status",
    "form",
    "kind",
    "from",
    "to",
    "sort",
    "unread",
    "overdue",
    "field",
    "record",
    "definition",
    "next",
)

FORM_NAMES = (
    "username",
    "password",
    "locale",
    "next",
    "open",
    "action",
    "comment",
    "transfer_to",
    "delegate_to",
    "signer",
    "position",
    "step",
    "delegate",
    "starts_at",
    "ends_at",
    "_definition",
    "_lock_version",
    "_client_token",
    "_op",
    "_state",
    "_action",
    "_rows.lines",
    "_rows.items",
    "category",
    "reason",
    "trip_destination",
    "guest_count",
    "lines[0].date",
    "lines[0].type",
    "lines[0].amount",
    "lines[0].invoice_no",
    "lines[0].receipt",
    "subject",
    "department",
    "budget_category",
    "items[0].quantity",
    "items[0].unit_price",
    "needed_by",
    "form",
    "field",
    "record",
    "version",
)

JSON_BODIES = (
    lambda v: {"data": {"category": "office", "reason": v, "lines": [{"amount": v, "date": v, "type": v}]}},
    lambda v: {"data": {"subject": v, "department": v, "items": [{"quantity": v, "unit_price": v}]}},
    lambda v: {"data": {"reason": v}, "client_token": v},
    lambda v: {"data": {}, "lock_version": v},
    lambda v: {"action": "approve", "comment": v},
    lambda v: {"action": "transfer", "to_user": v, "comment": "c"},
    lambda v: {"action": v, "step": v, "position": v, "attachments": [v]},
    lambda v: {"delegate": v, "starts_at": v, "ends_at": v},
    lambda v: {"kind": "form", "key": v, "title": v, "fields": [{"key": "a", "type": "text", "label": v}]},
    lambda v: {v: v},
)


def _url_rules() -> list[tuple[str, str]]:
    """``(rule, method)`` of every endpoint of a freshly built application (static files aside)."""
    saved = os.environ.get("FORMWORK_INSTANCE_PATH")
    with tempfile.TemporaryDirectory() as folder:
        os.environ["FORMWORK_INSTANCE_PATH"] = folder
        try:
            app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "rules"})
        finally:
            if saved is None:
                os.environ.pop("FORMWORK_INSTANCE_PATH", None)
            else:
                os.environ["FORMWORK_INSTANCE_PATH"] = saved
        rules = []
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static":
                continue
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                rules.append((rule.rule, method))
    return sorted(rules)


RULES = _url_rules()


@pytest.fixture
def world(app, demo_org):
    """The demo definitions, a submitted claim (so bob has a task) and its notification."""
    store.publish_path(ROOT / "definitions" / "forms")
    store.publish_path(ROOT / "definitions" / "routes")
    alice = demo_org["alice"]
    record = submission.create_record(
        "expense_claim",
        {
            "category": "office",
            "reason": "Paper",
            "lines": [{"date": date.today().isoformat(), "type": "supplies", "amount": "12.50"}],
            "payee_name": "Alice",
            "payee_bank": "ICBC",
            "payee_account": "6222020200112233",
        },
        alice,
        submit=True,
    )
    task = db.session.query(Task).filter_by(record_id=record.id).first()
    notification = db.session.query(Notification).first()
    return {
        "record_id": record.id,
        "task_id": task.id if task else 1,
        "notification_id": notification.id if notification else 1,
        "attachment_id": 1,
        "delegation_id": 1,
        "number": 1,
        "kind": "form",
        "key": "expense_claim",
        # The administration's objects: a person, a department, a grant, a role, a token.
        "user_id": demo_org["frank"].id,
        "department_id": demo_org["frank"].department_id,
        "grant_id": demo_org["frank"].role_assignments[0].id,
        "role_id": demo_org["frank"].role_assignments[0].role_id,
        "token_id": 1,
        "change": "move",  # one of each page's changes (people and departments both have it)
    }


def _fill(rule: str, values: dict[str, str]) -> str:
    return re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", lambda m: str(values[m.group(1)]), rule)


def _call(client, method: str, url: str, **kwargs):
    try:
        response = client.open(url, method=method, **kwargs)
    except Exception as exc:  # an exception escaping the view is what a client sees as a 500
        db.session.rollback()  # the test's application context outlives the request; a server's does not
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    if response.status_code >= 500:
        return f"{response.status_code}: {response.get_data(as_text=True)[:200]}"
    return None


def _probe(client, rule: str, method: str, world: dict, headers: dict, csrf: str | None) -> list[str]:
    failures = []
    is_api = rule.startswith("/api")

    def check(url, **kwargs):
        problem = _call(client, method, url, **kwargs)
        if problem:
            body = kwargs.get("json") or kwargs.get("data")
            failures.append(f"{method} {url[:80]!r} {str(body)[:80]}: {problem}")

    # Ids in the path.
    if "<" in rule:
        for value in HOSTILE:
            if "\x00" in value or "/" in value:
                continue
            names = re.findall(r"<(?:[^:>]+:)?([a-z_]+)>", rule)
            check(_fill(rule, {**world, **{name: value for name in names}}), headers=headers)
    url = _fill(rule, world)
    for value in HOSTILE:
        query = {name: value for name in QUERY_NAMES}
        if method == "GET":
            check(url, query_string=query, headers=headers)
            continue
        form = {name: value for name in FORM_NAMES}
        if csrf:
            form["csrf_token"] = csrf
        # A line break cannot travel in a header (servers and the test client refuse it).
        hostile_headers = headers if "\n" in value else {**headers, "Idempotency-Key": value}
        check(url, query_string=query, data=form, headers=hostile_headers)
        check(
            url,
            data={**form, "file": (io.BytesIO(b"%PDF-1.4 x"), value + ".pdf")},
            headers=hostile_headers,
            content_type="multipart/form-data",
        )
        if is_api:  # JSON bodies, as API clients send them
            for body in JSON_BODIES:
                check(url, json=body(value), headers=hostile_headers)
    return failures


@pytest.mark.parametrize(("rule", "method"), RULES, ids=[f"{m} {r}" for r, m in RULES])
@pytest.mark.parametrize("username", ["alice", "bob", "admin"])
def test_no_server_error_on_hostile_input(
    app, client, login, bearer, csrf_token, world, rule, method, username
):
    """alice owns the record, bob holds its approval task, admin sees everything."""
    if rule.startswith("/api"):
        failures = _probe(client, rule, method, world, bearer(username), None)
    else:
        login(client, username)
        failures = _probe(client, rule, method, world, {}, csrf_token(client, "/"))
    assert not failures, "\n".join(failures)
