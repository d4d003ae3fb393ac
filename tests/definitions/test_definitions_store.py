"""Publishing versions: checksums, numbering, immutability, all-or-nothing folders, concurrency."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from formwork.definitions import store
from formwork.definitions.models import DefinitionVersion
from formwork.definitions.problems import DefinitionError
from formwork.extensions import db
from formwork.forms import catalogue

pytestmark = pytest.mark.usefixtures("app")


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(DefinitionVersion))


def test_publishing_the_same_content_twice_makes_one_version(form):
    first, created = store.publish(form, source="trip.yaml")
    assert created and first.version == 1 and first.source == "trip.yaml"
    again, created_again = store.publish(dict(reversed(list(form.items()))))  # key order is not content
    assert not created_again and again.id == first.id
    assert _count() == 1


def test_a_change_makes_version_two_and_version_one_stays(form):
    v1, _ = store.publish(form)
    form["fields"].append({"key": "note", "type": "long_text", "label": {"zh-CN": "备注", "en": "Note"}})
    v2, created = store.publish(form)
    assert created and v2.version == 2 and v2.checksum != v1.checksum
    assert store.current("form", "trip").id == v2.id
    assert [v.version for v in store.versions("form", "trip")] == [1, 2]
    db.session.expire_all()
    old = store.get(v1.id)
    assert [f["key"] for f in old.content["fields"]] == ["destination", "amount"]
    assert store.version("form", "trip", 1).id == v1.id
    # A record created with version 1 is shown and validated with version 1's compiled form.
    assert catalogue.compiled_form(old).field("note") is None
    assert catalogue.compiled_form(store.get(v2.id)).field("note") is not None


def test_going_back_to_old_content_is_a_new_version(form):
    store.publish(form)
    changed = dict(form, title={"zh-CN": "出差", "en": "Trip"})
    store.publish(changed)
    back, created = store.publish(form)
    assert created and back.version == 3


def test_compiled_form_is_cached_per_version(form):
    version, _ = store.publish(form)
    assert catalogue.compiled_form(version) is catalogue.compiled_form(version)
    assert catalogue.compiled_form(version).key == "trip"


def test_invalid_definition_is_never_stored(form):
    form["fields"][0]["type"] = "nonsense"
    with pytest.raises(DefinitionError) as info:
        store.publish(form, source="trip.yaml")
    [problem] = info.value.problems
    assert problem.pointer == "/fields/0/type" and problem.source == "trip.yaml"
    assert _count() == 0


def test_python_numbers_are_stored_as_exact_text(form):
    form["fields"][1]["min"] = Decimal("0.10")
    form["fields"][1]["max"] = 99.9
    version, _ = store.publish(form)
    db.session.expire_all()
    stored = store.get(version.id).content["fields"][1]
    assert stored["min"] == "0.10" and stored["max"] == "99.9"


def test_list_current_shows_the_newest_of_each(form):
    store.publish(form)
    store.publish(dict(form, title={"zh-CN": "出差2", "en": "Trip 2"}))
    store.publish(dict(form, key="other"))
    current = store.list_current("form")
    assert [(d.key, d.version) for d in current] == [("other", 1), ("trip", 2)]
    assert store.list_current("route") == []


def test_folder_publish_is_all_or_nothing(definitions_dir):
    (definitions_dir / "forms" / "broken.yaml").write_text(
        "kind: form\nkey: broken\ntitle: [\n", encoding="utf-8"
    )
    (definitions_dir / "forms" / "typo.yaml").write_text(
        "kind: form\nkey: typo\ntitle: {zh-CN: 错, en: Typo}\nfields:\n"
        "  - {key: a, type: txt, label: {zh-CN: a, en: a}}\n",
        encoding="utf-8",
    )
    with pytest.raises(DefinitionError) as info:
        store.publish_path(definitions_dir)
    located = {(p.source.rsplit("/", 1)[-1], p.line) for p in info.value.problems}
    assert ("broken.yaml", 4) in located or ("broken.yaml", 3) in located
    assert ("typo.yaml", 5) in located
    assert _count() == 0

    (definitions_dir / "forms" / "broken.yaml").unlink()
    (definitions_dir / "forms" / "typo.yaml").unlink()
    results = store.publish_path(definitions_dir)
    assert sorted((r.definition.key, r.definition.version, r.created) for r in results) == [
        ("leave", 1, True),
        ("trip", 1, True),
    ]
    assert all(not r.created for r in store.publish_path(definitions_dir))


def test_the_same_key_in_two_files_is_refused(definitions_dir):
    (definitions_dir / "forms" / "trip_copy.yaml").write_text(
        (definitions_dir / "forms" / "trip.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    with pytest.raises(DefinitionError) as info:
        store.publish_path(definitions_dir)
    [problem] = info.value.problems
    assert problem.pointer == "/key" and problem.line == 2 and "also defined in" in problem.message
    assert _count() == 0


def test_a_failure_while_storing_rolls_everything_back(definitions_dir, monkeypatch):
    original = store._store_all

    def fail_after_writing(prepared, user):
        written = original(prepared, user)
        assert len([p for p in written if p.created]) == 2  # both flushed to the database
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "_store_all", fail_after_writing)
    with pytest.raises(RuntimeError):
        store.publish_path(definitions_dir)
    assert _count() == 0


def test_concurrent_publishers_never_share_a_version_number(app, form):
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def publish(n: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                store.publish(dict(form, title={"zh-CN": f"出差{n}", "en": f"Trip {n}"}))
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(v.version for v in store.versions("form", "trip")) == [1, 2, 3, 4]
