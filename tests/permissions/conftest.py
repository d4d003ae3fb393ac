"""Fixtures: the demo forms compiled, the demo permission definitions, and seeded demo records."""

from __future__ import annotations

import pytest
from permissions_samples import (
    DEFINITIONS,
    DEMO_POLICIES,
    RECORDS,
    compile_demo_form,
    form_definition,
    load_policy,
    store_permission,
    threshold_backend,
)

from formwork.definitions import store
from formwork.definitions.loader import read_source
from formwork.extensions import db
from formwork.permissions.model import PolicySet
from formwork.permissions.scopes import use_custom_filter_backend
from formwork.records.models import Record, RecordEvent


@pytest.fixture
def registry(app):
    from formwork.plugins import current_registry

    return current_registry()


@pytest.fixture
def forms(registry):
    return {key: compile_demo_form(key, registry) for key in ("expense_claim", "purchase_request")}


@pytest.fixture
def demo_policies(forms):
    return [load_policy(name, forms) for name in DEMO_POLICIES]


@pytest.fixture
def policy_sets(demo_policies):
    return {key: PolicySet.of(key, demo_policies) for key in ("expense_claim", "purchase_request")}


@pytest.fixture
def seeded(demo_org):
    """The demo records above, written directly (their data is what the permission layer reads)."""
    versions = {key: form_definition(key) for key in ("expense_claim", "purchase_request")}
    db.session.flush()
    records = {}
    for name, form_key, owner, status, total in RECORDS:
        user = demo_org[owner]
        data: dict = {"payee_account": "6225020200115678", "reason": name}
        if total is not None:
            data = {"subject": name, "department": user.department_id, "estimated_total": total}
        record = Record(
            form_key=form_key,
            definition_id=versions[form_key].id,
            form_version=1,
            data=data,
            status=status,
            title=name,
            owner_id=user.id,
            department_id=user.department_id,
        )
        db.session.add(record)
        records[name] = record
    db.session.commit()
    return records


@pytest.fixture
def enforced(demo_org, registry, seeded):
    """The demo forms, routes and permissions published, the demo records seeded and searchable."""
    store.publish_path(DEFINITIONS / "forms", registry=registry)
    store.publish_path(DEFINITIONS / "routes", registry=registry)
    for record in seeded.values():
        record.search_text = " ".join(str(v) for v in (record.data or {}).values())
        db.session.add(
            RecordEvent(
                record_id=record.id,
                actor_id=record.owner_id,
                action="created",
                changes={"fields": sorted(record.data)},
            )
        )
    db.session.commit()
    for name in DEMO_POLICIES:
        store_permission(read_source(DEFINITIONS / "permissions" / f"{name}.yaml").content)
    use_custom_filter_backend(threshold_backend)  # the demo's one filter (purchasing head)
    yield seeded
    use_custom_filter_backend(None)
