"""The task page and the task API show a record's fields as the permission definitions say,
for the step the person's task is at (the demo: the bank account masked for the department
head, in full for the finance reviewer and for the cashier while paying)."""

from __future__ import annotations

from pathlib import Path

from workflow_helpers import act, submit, task_of

from formwork.definitions import store
from formwork.definitions.loader import read_source
from formwork.definitions.models import DefinitionVersion
from formwork.extensions import db

PERMISSIONS = Path(__file__).resolve().parents[2] / "definitions" / "permissions"
ACCOUNT = "6222021234567890123"
MASKED = "6222***********0123"


def _publish_demo_permissions():
    for name in ("all_forms", "expense_claim", "purchase_request"):
        content = store.json_ready(read_source(PERMISSIONS / f"{name}.yaml").content)
        db.session.add(
            DefinitionVersion(
                kind="permission",
                key=content["key"],
                version=1,
                content=content,
                checksum=store.checksum(content),
            )
        )
    db.session.commit()


def _shown(app, login, bearer, task, username):
    client = login(app.test_client(), username)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    api = client.get(f"/api/tasks/{task.id}", headers=bearer(username)).get_json()
    return page, api["record"]["data"]["payee_account"]


def test_task_detail_follows_the_field_rights_of_the_step(expense_route, app, login, bearer):
    _publish_demo_permissions()
    record = submit("alice", "12000.00")
    page, api = _shown(app, login, bearer, task_of(record, "bob"), "bob")
    assert api == MASKED and MASKED in page and ACCOUNT not in page
    act(record, "bob")
    page, api = _shown(app, login, bearer, task_of(record, "carol"), "carol")
    assert api == ACCOUNT and ACCOUNT in page
