"""What is written to the trail, from the one place each thing happens: sign-in and sign-out, people,
roles and tokens, publishing, record writes with their values before and after, decisions, exports
and prints."""

from __future__ import annotations

import pytest
from audit_helpers import claim_data, details, entries
from sqlalchemy import select

from formwork.audit import actions
from formwork.audit.verify import verify
from formwork.extensions import db, transaction
from formwork.org import tokens, users
from formwork.org.users import user_by_username
from formwork.records.service import value_at
from formwork.workflow import service, submission
from formwork.workflow.models import OPEN, Task

ADDRESS = "203.0.113.7"


def _post_login(client, csrf_token, username, password):
    token = csrf_token(client, "/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": ADDRESS},
    )


def test_sign_in_success_failure_and_sign_out_with_the_address(demo_org, client, csrf_token):
    assert _post_login(client, csrf_token, "alice", "wrong-password").status_code == 200
    assert _post_login(client, csrf_token, "nobody", "whatever-password").status_code == 200
    assert _post_login(client, csrf_token, "alice", "demo-password").status_code == 302
    token = csrf_token(client, "/")
    client.post("/logout", data={"csrf_token": token}, environ_base={"REMOTE_ADDR": ADDRESS})
    alice = user_by_username("alice")
    failed = entries(actions.SIGN_IN_FAILED)
    assert [(e.actor_id, e.actor_label, e.address) for e in failed] == [
        (alice.id, "alice", ADDRESS),
        (None, "nobody", ADDRESS),
    ]
    assert all("password" not in (e.details or "") for e in failed)
    (signed_in,) = entries(actions.SIGN_IN)
    assert (signed_in.actor_id, signed_in.address, signed_in.object_id) == (alice.id, ADDRESS, str(alice.id))
    assert signed_in.department_id == alice.department_id
    (signed_out,) = entries(actions.SIGN_OUT)
    assert (signed_out.actor_id, signed_out.address) == (alice.id, ADDRESS)
    assert verify().intact


def test_a_locked_name_is_logged_as_locked(demo_org, client, csrf_token, app):
    app.config["FORMWORK_LOGIN_MAX_FAILURES"] = 2
    for _ in range(3):
        _post_login(client, csrf_token, "alice", "wrong-password")
    assert [details(e) for e in entries(actions.SIGN_IN_FAILED)] == [None, {"locked": True}, {"locked": True}]


def test_people_roles_passwords_leavers_and_tokens(demo_org):
    before = len(entries())
    with transaction():
        zoe = users.create_user("zoe", display_name="Zoe", department_code="SALES", role_keys=["employee"])
    with transaction():
        users.grant_role(zoe, "employee")  # held already: nothing changes, nothing is logged
        users.grant_role(zoe, "cashier")
    with transaction():
        assert users.revoke_role(zoe, "cashier")
        assert not users.revoke_role(zoe, "cashier")
    with transaction():
        users.set_password(zoe, "a-new-password")
    tokens.create_token(zoe, "scripts", 30)
    (token,) = tokens.list_tokens(zoe)
    tokens.revoke_token(token.id)
    tokens.revoke_token(token.id)  # again: already revoked, nothing logged
    tokens.create_token(zoe, "second")
    with transaction():
        users.leave(zoe)
    written = entries()[before:]
    assert [e.action for e in written] == [
        actions.USER_CREATE,
        actions.ROLE_GRANT,
        actions.ROLE_GRANT,
        actions.ROLE_REVOKE,
        actions.USER_SET_PASSWORD,
        actions.TOKEN_CREATE,
        actions.TOKEN_REVOKE,
        actions.TOKEN_CREATE,
        actions.USER_LEAVE,
    ]
    assert {e.object_type for e in written} == {"user", "token"}
    assert all(e.department_id == zoe.department_id for e in written)
    assert [details(e)["role"] for e in written[1:4]] == ["employee", "cashier", "cashier"]
    assert details(written[5])["name"] == "scripts" and "fw_" not in written[5].details
    assert details(written[-1])["tokens_revoked"] == 1
    assert verify().intact


def test_publishing_a_definition_is_logged_once_per_new_version(expense):
    published = entries(actions.DEFINITION_PUBLISH)
    assert [(e.object_type, e.object_id) for e in published] == [
        ("form", "expense_claim"),
        ("route", "expense_claim"),
        ("permission", "all_forms"),
        ("permission", "expense_claim"),
    ]
    assert details(published[0])["version"] == 1


def _open_task(record, username):
    user = user_by_username(username)
    return db.session.scalar(
        select(Task).where(Task.record_id == record.id, Task.assignee_id == user.id, Task.status == OPEN)
    )


def test_records_created_changed_and_decided(expense):
    alice = user_by_username("alice")
    draft = submission.create_record("expense_claim", claim_data(), alice, submit=False)
    (created,) = entries(actions.RECORD_CREATE)
    assert (created.actor_id, created.object_type, created.object_id) == (alice.id, "record", str(draft.id))
    assert created.department_id == alice.department_id
    assert {"path": "reason", "after": "Customer workshop"} in details(created)["changes"]
    changed = claim_data("1500.00", reason="Workshop with Acme")
    record = submission.update_record(draft, changed, alice, submit=True)
    (change,) = entries(actions.RECORD_CHANGE)
    assert details(change)["status"] == "submitted"
    by_path = {item.pop("path"): item for item in details(change)["changes"]}
    assert by_path["reason"] == {"before": "Customer workshop", "after": "Workshop with Acme"}
    assert by_path["lines[0].amount"] == {"before": "1200.00", "after": "1500.00"}
    assert by_path["total"] == {"before": "1200.00", "after": "1500.00"}  # computed fields too
    assert "payee_account" not in by_path  # unchanged fields are not repeated
    task = _open_task(record, "bob")
    service.decide(task.id, user_by_username("bob"), "approve", comment="fine")
    (decided,) = entries(actions.TASK_DECIDE)
    assert (decided.actor_label, decided.object_id) == ("bob", str(record.id))
    assert details(decided) == {"decision": "approve", "task": task.id, "step": task.step_key}
    assert "fine" not in decided.details
    assert verify().intact


def test_a_decision_rolled_back_leaves_no_entry(expense):
    alice = user_by_username("alice")
    record = submission.create_record("expense_claim", claim_data(), alice, submit=True)
    task = _open_task(record, "bob")

    def fail(_task):  # the decision is written and noted for the trail, then its transaction fails
        raise RuntimeError("the answer could not be built")

    with pytest.raises(RuntimeError):
        service.decide(task.id, user_by_username("bob"), "approve", respond=fail)
    assert entries(actions.TASK_DECIDE) == []
    assert _open_task(record, "bob") is not None  # nothing of the decision stayed
    service.decide(task.id, user_by_username("bob"), "approve")
    assert len(entries(actions.TASK_DECIDE)) == 1 and verify().intact


def test_value_at_reads_field_paths():
    data = {"reason": "x", "lines": [{"amount": "1"}, {"amount": "2"}]}
    assert value_at(data, "reason") == "x"
    assert value_at(data, "lines[1].amount") == "2"
    assert value_at(data, "lines[5].amount") is None
    assert value_at(data, "lines") == data["lines"]
    assert value_at(None, "reason") is None


def test_exports_and_prints(expense, client, bearer):
    alice = user_by_username("alice")
    record = submission.create_record("expense_claim", claim_data(), alice, submit=True)
    response = client.get(
        "/api/records/export",
        query_string={"form": "expense_claim", "format": "csv"},
        headers=bearer("admin"),
    )
    response.get_data()
    assert response.status_code == 200
    (exported,) = entries(actions.RECORDS_EXPORT)
    assert (exported.actor_label, exported.object_type, exported.object_id) == (
        "admin",
        "form",
        "expense_claim",
    )
    assert details(exported)["format"] == "csv"
    printed = client.get(f"/api/records/{record.id}/pdf", headers=bearer("admin"))
    assert printed.status_code == 200
    (entry,) = entries(actions.DOCUMENT_PRINT)
    assert (entry.actor_label, entry.object_id, entry.department_id) == (
        "admin",
        str(record.id),
        record.department_id,
    )
