"""Eight writers at once, each in its own thread and connection, still make one unbroken chain."""

from __future__ import annotations

import threading

from audit_helpers import entries

from formwork.audit import trail
from formwork.audit.verify import verify
from formwork.extensions import db, transaction

WRITERS = 8
EACH = 15


def test_eight_concurrent_writers_make_one_valid_chain(app):
    barrier = threading.Barrier(WRITERS)
    errors: list[str] = []

    def writer(number: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                for index in range(EACH):
                    with transaction():
                        trail.append(
                            "test.event",
                            actor=None,
                            object_type="writer",
                            object_id=number,
                            details={"i": index},
                        )
                        if index % 3 == 0:  # some transactions write two entries
                            trail.append("test.event", actor=None, object_type="writer", object_id=number)
            except Exception as exc:  # reported by the assertion below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    rows = entries()
    per_writer = EACH + len(range(0, EACH, 3))
    assert len(rows) == WRITERS * per_writer
    assert [row.id for row in rows] == list(range(1, len(rows) + 1))
    verdict = verify()
    assert verdict.intact and verdict.checked == len(rows)
    for number in range(WRITERS):  # each writer's entries in its own order
        mine = [row.details for row in rows if row.object_id == str(number) and row.details]
        assert mine == [f'{{"i":{i}}}' for i in range(EACH)]
