"""The chain itself: entries written at commit and never on rollback, linked one to the next, and
``formwork audit verify`` finding a changed, deleted or reordered entry (SQLite and PostgreSQL)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from audit_helpers import entries, tamper
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from formwork.audit import models, trail
from formwork.audit.chain import FIELDS, GENESIS, entry_hash
from formwork.audit.verify import BROKEN_LINK, CHANGED, MISSING, verify
from formwork.extensions import db, transaction


def append_some(count: int) -> None:
    for index in range(count):
        with transaction():
            trail.append("test.event", actor=None, object_type="thing", object_id=index, details={"n": index})


def test_entries_are_written_at_commit_and_linked(app):
    append_some(3)
    rows = entries()
    assert [row.id for row in rows] == [1, 2, 3]
    assert rows[0].prev_hash == GENESIS
    assert [row.prev_hash for row in rows[1:]] == [row.hash for row in rows[:-1]]
    assert rows[1].details == '{"n":1}'
    assert rows[1].object_id == "1"
    recomputed = entry_hash({name: getattr(rows[2], name) for name in FIELDS})
    assert recomputed == rows[2].hash
    assert verify().intact and verify().checked == 3


def test_a_rolled_back_transaction_leaves_no_entry(app):
    append_some(1)
    with pytest.raises(RuntimeError):
        with transaction():
            trail.append("test.event", actor=None, details={"aborted": True})
            raise RuntimeError("the change fails")
    append_some(1)
    rows = entries()
    assert [row.details for row in rows] == ['{"n":0}', '{"n":0}']
    assert verify().intact


def test_several_entries_in_one_transaction_keep_their_order(app):
    with transaction():
        for index in range(4):
            trail.append("test.event", actor=None, details=index)
    assert [row.details for row in entries()] == ["0", "1", "2", "3"]
    assert verify().intact


def test_turned_off_nothing_is_written(app):
    app.config["FORMWORK_AUDIT_ENABLED"] = False
    append_some(2)
    assert entries() == []


def test_verify_command_reports_an_intact_chain(app, runner):
    append_some(5)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "5 entries checked" in result.output


def test_a_changed_entry_is_found(app, runner):
    append_some(5)
    tamper("UPDATE audit_entries SET details = :d WHERE id = 3", d='{"n":99}')
    verdict = verify()
    assert (verdict.broken_id, verdict.problem, verdict.checked) == (3, CHANGED, 2)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "entry 3 was changed" in result.output


def test_a_changed_entry_with_its_hash_recomputed_breaks_the_next_link(app):
    append_some(5)
    row = entries()[2]
    forged = entry_hash({**{name: getattr(row, name) for name in FIELDS}, "details": '{"n":99}'})
    tamper("UPDATE audit_entries SET details = :d, hash = :h WHERE id = 3", d='{"n":99}', h=forged)
    verdict = verify()
    assert (verdict.broken_id, verdict.problem) == (4, BROKEN_LINK)


def test_a_deleted_entry_is_found(app, runner):
    append_some(5)
    tamper("DELETE FROM audit_entries WHERE id = 2")
    assert (verify().broken_id, verify().problem) == (2, MISSING)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "entry 2 is missing" in result.output


def test_a_deleted_entry_with_the_rest_renumbered_is_found(app):
    append_some(5)
    tamper("DELETE FROM audit_entries WHERE id = 2")
    # Through negative ids: PostgreSQL checks the primary key row by row.
    tamper("UPDATE audit_entries SET id = 1 - id WHERE id > 2")
    tamper("UPDATE audit_entries SET id = -id WHERE id < 0")
    assert (verify().broken_id, verify().problem) == (2, BROKEN_LINK)


def test_two_entries_swapped_are_found(app, runner):
    append_some(5)
    tamper("UPDATE audit_entries SET id = -1 WHERE id = 3")
    tamper("UPDATE audit_entries SET id = 3 WHERE id = 4")
    tamper("UPDATE audit_entries SET id = 4 WHERE id = -1")
    assert (verify().broken_id, verify().problem) == (3, BROKEN_LINK)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1


def test_verify_reads_in_batches(app):
    append_some(7)
    assert verify(batch=2).checked == 7
    tamper("DELETE FROM audit_entries WHERE id = 5")
    assert verify(batch=2).broken_id == 5


def test_postgresql_refuses_update_delete_and_truncate(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    append_some(2)
    for statement in (
        "UPDATE audit_entries SET action = 'x' WHERE id = 1",
        "DELETE FROM audit_entries WHERE id = 1",
        "DELETE FROM audit_entries WHERE id = -5",
        "TRUNCATE audit_entries",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(statement))
    assert len(entries()) == 2 and verify().intact


def test_text_of_any_script_and_quotes_hash_alike_in_the_database_and_here(app):
    """On PostgreSQL the database computes the hash, and verify recomputes it here: they must agree."""
    with transaction():
        trail.append(
            "test.event",
            actor=None,
            actor_label="张三",
            object_id='a"b\\c',
            details={"原因": '客户拜访 "Acme" \u2028 😀', "n": [1, None, True]},
            address="2001:db8::1",
        )
    assert verify().intact
    (row,) = entries()
    assert row.actor_label == "张三" and row.object_id == 'a"b\\c'


def test_the_migration_creates_what_the_models_create():
    """Migration aud1 keeps its own copy of the PostgreSQL statements: the same text as the models'."""
    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "aud1_audit_entries.py"
    spec = importlib.util.spec_from_file_location("aud1", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.APPEND_FUNCTION == models.APPEND_FUNCTION.statement
    assert migration.APPEND_ONLY_TRIGGER == models.APPEND_ONLY_TRIGGER.statement
    assert migration.APPEND_ONLY_FUNCTION == models.APPEND_ONLY_FUNCTION.statement.replace("%%", "%")
