"""Publishing grows with what changed: unchanged files cost a constant number of statements."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event

from formwork.definitions import store
from formwork.extensions import db
from formwork.routes.store import route_for_form

FORM = """\
kind: form
key: form_{n}
title: {{zh-CN: 表单{n}, en: Form {n}}}
fields:
  - {{key: amount, type: money, label: {{zh-CN: 金额, en: Amount}}, min: 0.01}}
  - {{key: note, type: text, label: {{zh-CN: 说明, en: Note}}}}
"""

ROUTE = """\
kind: route
key: route_{n}
form: form_{n}
title: {{zh-CN: 审批{n}, en: Approval {n}}}
no_approver: skip
steps:
  - key: manager
    name: {{zh-CN: 经理审批, en: Manager approval}}
    approvers: [{{manager: true}}]
  - key: large
    name: {{zh-CN: 大额审批, en: Large amounts}}
    when: amount > {limit}
    approvers: [{{department_head: 1}}]
"""


def write_definitions(root: Path, count: int, limit: int = 1000) -> Path:
    """``count`` forms and a route for each under ``root``."""
    (root / "forms").mkdir(parents=True, exist_ok=True)
    (root / "routes").mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (root / "forms" / f"form_{n}.yaml").write_text(FORM.format(n=n), encoding="utf-8")
        (root / "routes" / f"route_{n}.yaml").write_text(ROUTE.format(n=n, limit=limit), encoding="utf-8")
    return root


class _Statements:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args) -> None:
        self.count += 1


def _statements_to_publish(root: Path) -> tuple[int, list[store.Published]]:
    seen = _Statements()
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        results = store.publish_path(root)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    return seen.count, results


@pytest.fixture
def published(app, tmp_path):
    def publish(count: int) -> Path:
        root = write_definitions(tmp_path / f"defs_{count}", count)
        with app.app_context():
            results = store.publish_path(root)
        assert len(results) == 2 * count
        return root

    return publish


def test_republishing_unchanged_files_costs_the_same_for_10_and_40(app, published):
    small, large = published(10), published(40)
    with app.app_context():
        small_count, small_results = _statements_to_publish(small)
        large_count, large_results = _statements_to_publish(large)
    assert not any(result.created for result in small_results + large_results)
    assert large_count == small_count
    assert large_count <= 5  # read the current set, lock (PostgreSQL), read the newest under the locks


def test_one_changed_route_is_checked_and_stored_alone(app, published):
    root = published(20)
    (root / "routes" / "route_7.yaml").write_text(ROUTE.format(n=7, limit=5000), encoding="utf-8")
    with app.app_context():
        statements, results = _statements_to_publish(root)
        created = [result.definition for result in results if result.created]
        assert [(d.key, d.version) for d in created] == [("route_7", 2)]
        assert route_for_form("form_7").id == created[0].id
    assert statements < 20  # does not grow with the 40 files of the set


def test_an_unchanged_route_is_checked_again_when_its_form_changes(app, published):
    root = published(3)
    form = (root / "forms" / "form_1.yaml").read_text(encoding="utf-8")
    # The route reads "amount"; a form without it must not be published while the route stays.
    (root / "forms" / "form_1.yaml").write_text(form.replace("key: amount", "key: total"), encoding="utf-8")
    with app.app_context(), pytest.raises(store.DefinitionError) as info:
        store.publish_path(root)
    assert any("route_1" in (p.source or "") and "amount" in p.message for p in info.value.problems)


def test_an_unchanged_file_with_a_schema_problem_is_still_refused(app, published):
    root = published(2)
    with app.app_context():
        # The stored version cannot have such a problem; a file equal to it cannot either.
        assert store.publish_path(root)
    (root / "forms" / "form_0.yaml").write_text(FORM.format(n=0) + "colour: red\n", encoding="utf-8")
    with app.app_context(), pytest.raises(store.DefinitionError) as info:
        store.publish_path(root)
    assert any("colour" in p.message for p in info.value.problems)


def test_the_route_of_a_form_is_its_current_version(app, published):
    root = published(2)
    # route_0 moves from form_0 to form_1's neighbour: form_0 has no route any more.
    (root / "routes" / "route_0.yaml").unlink()
    (root / "forms" / "form_2.yaml").write_text(FORM.format(n=2), encoding="utf-8")
    (root / "routes" / "route_0.yaml").write_text(
        ROUTE.format(n=0, limit=1000).replace("form: form_0", "form: form_2"), encoding="utf-8"
    )
    with app.app_context():
        store.publish_path(root)
        assert route_for_form("form_0") is None
        assert route_for_form("form_2").key == "route_0"
        assert route_for_form("form_1").key == "route_1"
