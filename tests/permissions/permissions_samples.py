"""The demo permission definitions, demo records and what each demo user should see."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import Numeric, cast

from formwork.definitions.loader import read_source
from formwork.definitions.models import DefinitionVersion
from formwork.expressions import nodes as N
from formwork.extensions import db
from formwork.forms.model import compile_form
from formwork.org.models import Department
from formwork.permissions.model import compile_policy
from formwork.records.models import Record

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
DEMO_POLICIES = ("all_forms", "expense_claim", "purchase_request")


def compile_demo_form(key: str, registry):
    return compile_form(read_source(DEFINITIONS / "forms" / f"{key}.yaml").content, registry)


def load_policy(name: str, forms, *, version: int = 1, text: str | None = None):
    """A permission definition compiled the way publishing will: with its lines and its form."""
    if text is None:
        path = DEFINITIONS / "permissions" / f"{name}.yaml"
        document = read_source(path, f"permissions/{name}.yaml")
    else:
        document = read_source(text, f"{name}.yaml")
    content = document.content
    return compile_policy(
        content,
        version=version,
        form=forms.get(content["form"]),
        lines=document.lines,
        source=document.source,
    )


# The demo records: (name, form, owner, status, estimated total for purchase requests).
RECORDS = [
    ("ec_alice_draft", "expense_claim", "alice", "draft", None),
    ("ec_alice_approved", "expense_claim", "alice", "approved", None),
    ("ec_frank_review", "expense_claim", "frank", "in_review", None),
    ("ec_bob", "expense_claim", "bob", "submitted", None),
    ("ec_carol_approved", "expense_claim", "carol", "approved", None),
    ("ec_grace", "expense_claim", "grace", "in_review", None),
    ("ec_erin", "expense_claim", "erin", "approved", None),
    ("ec_henry", "expense_claim", "henry", "draft", None),
    ("ec_ivan", "expense_claim", "ivan", "in_review", None),
    ("ec_dave", "expense_claim", "dave", "submitted", None),
    ("pr_alice_small", "purchase_request", "alice", "submitted", "5000.00"),
    ("pr_frank_big", "purchase_request", "frank", "in_review", "25000.00"),
    ("pr_erin_big", "purchase_request", "erin", "approved", "10000.00"),
    ("pr_henry_small", "purchase_request", "henry", "submitted", "9999.99"),
    ("pr_carol_big", "purchase_request", "carol", "draft", "50000.00"),
]

ALL = {name for name, *_ in RECORDS}
DRAFTS = {"ec_alice_draft", "ec_henry", "pr_carol_big"}
CLAIMS = {name for name in ALL if name.startswith("ec_")}

# What the demo definitions say each demo user sees (docs/permissions.md, "The demo permissions").
EXPECTED_VIEW = {
    "alice": {"ec_alice_draft", "ec_alice_approved", "pr_alice_small"},
    "frank": {"ec_frank_review", "pr_frank_big"},
    # head of Sales: Sales' requests except drafts
    "bob": {"ec_bob", "ec_alice_approved", "ec_frank_review", "pr_alice_small", "pr_frank_big"},
    # finance reviewer: every claim but drafts; head of Finance; her own draft request
    "carol": (CLAIMS - DRAFTS) | {"pr_carol_big"},
    # cashier: approved claims only, and her own
    "grace": {"ec_grace", "ec_alice_approved", "ec_carol_approved", "ec_erin"},
    # HR: every department's claims but Sales' (not drafts); head of HR; her own
    "erin": {"ec_erin", "pr_erin_big", "ec_carol_approved", "ec_grace", "ec_ivan", "ec_dave"},
    # head of Purchasing: requests of 10,000 or more from every department (custom scope)
    "henry": {"ec_henry", "pr_henry_small", "pr_frank_big", "pr_erin_big"},
    "ivan": {"ec_ivan"},
    # head of Head Office, the top of the tree: everything but drafts
    "dave": ALL - DRAFTS,
    "admin": ALL,
}


def form_definition(key: str) -> DefinitionVersion:
    """The form's published version if there is one, else a version 1 written for the records."""
    existing = db.session.query(DefinitionVersion).filter_by(kind="form", key=key).first()
    if existing is not None:
        return existing
    content = read_source(DEFINITIONS / "forms" / f"{key}.yaml").content
    row = DefinitionVersion(kind="form", key=key, version=1, content=content, checksum="0" * 64)
    db.session.add(row)
    return row


def department_id(code: str) -> int:
    return db.session.query(Department.id).filter(Department.code == code).scalar()


def threshold_backend(condition, *, user, form_key):
    """An SQL back end for the one filter shape the demo uses (``field >= number``), for the seam's tests.

    The expression language's own SQL back end replaces this; here it only shows that the scope
    code hands the checked filter over and uses what comes back.
    """
    node = condition.analysis.root
    assert isinstance(node, N.Compare) and node.op == ">="
    assert isinstance(node.left, N.Name) and isinstance(node.right, N.Literal)
    value = cast(Record.data[node.left.name].as_string(), Numeric(20, 2))
    return value >= Decimal(node.right.value)


def store_permission(content, version=1):
    """Publish a permission definition version directly (as the publisher stores it)."""
    from formwork.definitions import store

    content = store.json_ready(content)
    db.session.add(
        DefinitionVersion(
            kind="permission",
            key=content["key"],
            version=version,
            content=content,
            checksum=store.checksum(content),
            source=f"definitions/permissions/{content['key']}.yaml",
        )
    )
    db.session.commit()
