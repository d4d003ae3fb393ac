"""``extensions.transaction``: one unit of work, committed whole or not at all."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from formwork.extensions import db, transaction
from formwork.org.models import Department


def _stored_codes() -> list[str]:
    db.session.remove()  # read what the database holds, not what the session remembers
    return sorted(db.session.scalars(select(Department.code)))


def _department(code: str) -> Department:
    return Department(code=code, name_zh=code, name_en=code)


def test_the_work_is_committed_when_the_block_ends(app):
    with transaction():
        db.session.add(_department("fin"))
        db.session.add(_department("ops"))
    assert _stored_codes() == ["fin", "ops"]


def test_an_error_rolls_everything_back_and_is_raised(app):
    with pytest.raises(ValueError, match="refused"):
        with transaction():
            db.session.add(_department("fin"))
            db.session.flush()  # already sent to the database, inside the transaction
            raise ValueError("refused")
    assert _stored_codes() == []


def test_a_failure_half_way_leaves_nothing_half_written(app):
    with transaction():
        db.session.add(_department("fin"))
    with pytest.raises(IntegrityError):
        with transaction():
            db.session.add(_department("ops"))
            db.session.flush()
            db.session.add(_department("fin"))  # the unique code is taken: the second write fails
    assert _stored_codes() == ["fin"]


def test_an_interrupt_rolls_back_too(app):
    with pytest.raises(KeyboardInterrupt):
        with transaction():
            db.session.add(_department("fin"))
            db.session.flush()
            raise KeyboardInterrupt
    assert _stored_codes() == []


def test_the_session_is_usable_after_a_rollback(app):
    with pytest.raises(RuntimeError):
        with transaction():
            db.session.add(_department("fin"))
            db.session.flush()
            raise RuntimeError("boom")
    with transaction():
        db.session.add(_department("fin"))
    assert db.session.scalar(select(func.count()).select_from(Department)) == 1
