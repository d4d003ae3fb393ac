"""SQL and Python give the same answers for every built-in scope, on generated grants and holdings."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from permissions_samples import department_id
from sqlalchemy import select

from formwork.extensions import db
from formwork.org.models import Department
from formwork.permissions.model import PolicySet, compile_policy
from formwork.permissions.scopes import bases_seeing, records_filter
from formwork.permissions.subject import Holding, OrgTree, RecordFacts, Subject
from formwork.records.models import STATUSES, Record

CODES = ["HQ", "SALES", "NORTH", "NORTH_A", "FIN", "HR", "PUR", "LEGAL"]
USERS = ["alice", "bob", "carol", "dave", "erin", "henry"]

scopes = st.one_of(
    st.sampled_from(["own", "own_department", "department_tree", "all"]),
    st.builds(
        lambda departments, below: {"departments": departments, "below": below},
        st.lists(st.sampled_from(CODES), min_size=1, max_size=3, unique=True),
        st.booleans(),
    ),
)
grants = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["everyone", "department_head", "finance_reviewer"]),
        "operations": st.just(["view"]),
        "scope": scopes,
    },
    optional={
        "status": st.lists(st.sampled_from(STATUSES), min_size=1, max_size=3, unique=True),
        "except_departments": st.lists(st.sampled_from(CODES), min_size=1, max_size=2, unique=True),
        "department": st.sampled_from(CODES),
    },
)
# Extra holdings of finance_reviewer: organisation-wide (None) or for a department.
holdings = st.lists(st.one_of(st.none(), st.sampled_from(CODES)), max_size=2)


def _deeper_tree(demo_org, seeded):
    """Sales gets a region below it and a team below that, each with a record; frank heads the team."""
    north = Department(code="NORTH", name_zh="北区", name_en="North", parent_id=department_id("SALES"))
    db.session.add(north)
    db.session.flush()
    team = Department(code="NORTH_A", name_zh="北区一组", name_en="North A", parent_id=north.id)
    team.head_id = demo_org["frank"].id
    db.session.add(team)
    db.session.flush()
    template = seeded["ec_alice_approved"]
    for code, status in (("NORTH", "approved"), ("NORTH_A", "in_review"), (None, "submitted")):
        db.session.add(
            Record(
                form_key="expense_claim",
                definition_id=template.definition_id,
                form_version=1,
                data={"payee_account": "6225020200115678"},
                status=status,
                title=f"ec_{code or 'nodept'}",
                owner_id=demo_org["frank"].id,
                department_id=department_id(code) if code else None,
            )
        )
    db.session.commit()


def test_sql_and_python_agree_on_built_in_scopes(seeded, demo_org, forms):
    _deeper_tree(demo_org, seeded)
    tree = OrgTree.load()
    records = [RecordFacts.of(r, forms["expense_claim"]) for r in db.session.scalars(select(Record))]
    titles = {r.id: r.title for r in db.session.scalars(select(Record))}

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(grants, min_size=1, max_size=3), st.sampled_from(USERS), holdings)
    def check(grant_specs, username, extra):
        content = {
            "kind": "permission",
            "key": "generated",
            "form": "expense_claim",
            "title": {"zh-CN": "生成", "en": "Generated"},
            "grants": grant_specs,
        }
        policies = PolicySet.of("expense_claim", [compile_policy(content, form=forms["expense_claim"])])
        loaded = Subject.load(demo_org[username])
        added = tuple(
            Holding("finance_reviewer", department_id(code) if code else None, limited=code is not None)
            for code in extra
        )
        subject = Subject(
            loaded.user_id, loaded.username, loaded.department_id, loaded.holdings + added, loaded.headed
        )
        in_sql = set(db.session.scalars(select(Record.id).where(records_filter(subject, policies))))
        in_python = {r.id for r in records if bases_seeing(subject, policies, r, tree)}
        assert in_sql == in_python, (
            grant_specs,
            username,
            extra,
            sorted(titles[i] for i in in_sql ^ in_python),
        )

    check()
