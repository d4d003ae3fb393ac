"""Record lists by cursor: every record a person may see exactly once across the pages (ties in
the creation time included), the same set as the visibility filter, counts capped, and cursors
that were changed or made up refused with a 400 — never a 500, never another person's page."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from itsdangerous import URLSafeSerializer

from formwork.extensions import db
from formwork.org.users import user_by_username
from formwork.records import access, listing
from formwork.records.models import Record, RecordReader

BASE = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def add_records(published, owner: str, count: int, *, title: str, ties: int = 3) -> list[int]:
    """``count`` records of ``owner``; every ``ties`` consecutive ones share one creation time."""
    version = published["expense_claim"]
    user = user_by_username(owner)
    records = [
        Record(
            form_key="expense_claim",
            definition_id=version.id,
            form_version=version.version,
            data={},
            status="draft" if index % 2 else "submitted",
            title=f"{title} {index}",
            owner_id=user.id,
            department_id=user.department_id,
            created_at=BASE + timedelta(minutes=index // ties),
        )
        for index in range(count)
    ]
    db.session.add_all(records)
    db.session.commit()
    return [record.id for record in records]


def visible_order(username: str, **filters) -> list[int]:
    """The visible records newest first, read with the plain OR filter (the reference)."""
    stmt = access.visible_records(user_by_username(username)).filter_by(**filters)
    return list(
        db.session.scalars(
            stmt.with_only_columns(Record.id).order_by(Record.created_at.desc(), Record.id.desc())
        )
    )


def walk(client, headers, url: str) -> tuple[list[int], int]:
    """Follow ``next`` from ``url`` to the last page: the ids in order, and the number of pages."""
    seen: list[int] = []
    pages = 0
    while url:
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200, answer.get_json()
        body = answer.get_json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        assert (body["next"] is None) == (body["next_cursor"] is None)
        url = body["next"]
        assert pages < 100
    return seen, pages


@pytest.fixture
def many(published):
    """alice's 17 records, bob's 9 (3 of which alice was told about), carol's 4; one of alice's
    own she was also told about (seen through two conditions, listed once)."""
    alices = add_records(published, "alice", 17, title="Alice")
    bobs = add_records(published, "bob", 9, title="Bob")
    add_records(published, "carol", 4, title="Carol")
    alice = user_by_username("alice")
    for record_id in (*bobs[:3], alices[0]):
        db.session.add(RecordReader(record_id=record_id, user_id=alice.id, reason="alert:test"))
    db.session.commit()
    return alices, bobs


@pytest.mark.parametrize("username", ["alice", "bob", "carol", "admin", "dave"])
def test_cursor_pages_hold_every_visible_record_once(client, bearer, many, username):
    expected = visible_order(username)
    seen, pages = walk(client, bearer(username), "/api/records?per_page=4")
    assert seen == expected  # newest first, ties by id, nothing skipped or repeated
    assert pages == max(1, -(-len(expected) // 4))


def test_cursor_keeps_the_filters_and_the_old_page_numbers_still_work(client, bearer, many):
    auth = bearer("alice")
    expected = visible_order("alice", status="draft")
    seen, _pages = walk(client, auth, "/api/records?per_page=3&status=draft")
    assert seen == expected and len(expected) > 3
    everything = visible_order("alice")
    second = client.get("/api/records?per_page=5&page=2", headers=auth).get_json()
    assert [item["id"] for item in second["items"]] == everything[5:10]
    assert (second["total"], second["total_is_capped"]) == (len(everything), False)
    by_cursor = client.get("/api/records?per_page=5", headers=auth).get_json()
    after = client.get(f"/api/records?per_page=5&cursor={by_cursor['next_cursor']}", headers=auth).get_json()
    assert after["items"] == second["items"]


def test_records_added_meanwhile_do_not_shift_a_cursor(client, bearer, many, published):
    auth = bearer("alice")
    first = client.get("/api/records?per_page=4", headers=auth).get_json()
    newer = add_records(published, "alice", 1, title="Newer")  # created before the list's next page
    db.session.execute(
        Record.__table__.update().where(Record.id.in_(newer)).values(created_at=BASE + timedelta(days=1))
    )
    db.session.commit()
    second = client.get(first["next"], headers=auth).get_json()
    assert visible_order("alice")[5:9] == [item["id"] for item in second["items"]]


def test_counts_stop_at_the_cap(client, bearer, many, app, monkeypatch):
    auth = bearer("alice")
    expected = len(visible_order("alice"))
    exact = client.get("/api/records", headers=auth).get_json()
    assert (exact["total"], exact["total_is_capped"]) == (expected, False)
    monkeypatch.setitem(app.config, "FORMWORK_COUNT_CAP", 5)
    capped = client.get("/api/records?per_page=2", headers=auth).get_json()
    assert (capped["total"], capped["total_is_capped"]) == (5, True)
    assert len(capped["items"]) == 2 and capped["next_cursor"]
    monkeypatch.setitem(app.config, "FORMWORK_COUNT_CAP", expected)
    at_cap = client.get("/api/records", headers=auth).get_json()
    assert (at_cap["total"], at_cap["total_is_capped"]) == (expected, False)
    # The cap is per list, counted over the union: carol sees only her 4, never capped at 5.
    monkeypatch.setitem(app.config, "FORMWORK_COUNT_CAP", 5)
    carol = client.get("/api/records", headers=bearer("carol")).get_json()
    assert (carol["total"], carol["total_is_capped"]) == (4, False)


def test_capped_count_counts_each_record_once(app, many):
    alice = user_by_username("alice")
    expected = len(visible_order("alice"))
    assert listing.capped_count(alice, [], cap=1000) == (expected, False)
    assert listing.capped_count(alice, [], cap=expected) == (expected, False)
    assert listing.capped_count(alice, [], cap=expected - 1) == (expected - 1, True)
    assert listing.capped_count(alice, [Record.status == "draft"], cap=1000) == (
        len(visible_order("alice", status="draft")),
        False,
    )


def test_changed_or_made_up_cursors_are_refused(client, bearer, many, app):
    auth = bearer("alice")
    good = client.get("/api/records?per_page=2", headers=auth).get_json()["next_cursor"]
    forged = URLSafeSerializer("another secret", salt=listing.CURSOR_SALT).dumps(
        ["records", BASE.isoformat(), 10]
    )
    with app.test_request_context():
        other_kind = listing.encode_cursor(listing.After(BASE, 10), "requests")
        wrong_shape = listing._serializer().dumps(["records", "yesterday", 10])
        not_an_id = listing._serializer().dumps(["records", BASE.isoformat(), "10"])
        negative = listing._serializer().dumps(["records", BASE.isoformat(), -1])
        short = listing._serializer().dumps(["records", BASE.isoformat()])
    changed = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    for cursor in (
        "x",
        changed,
        forged,
        other_kind,
        wrong_shape,
        not_an_id,
        negative,
        short,
        "a" * 301,
        "%00",
    ):
        answer = client.get(f"/api/records?cursor={cursor}", headers=auth)
        assert answer.status_code == 400, (cursor, answer.status_code)
        body = answer.get_json()
        # Named as the fault: in ``errors`` (a NUL is refused, naming it, before any view runs).
        assert body.get("errors", [{}])[0].get("field") == "cursor" or "cursor" in body["error"], body
    assert client.get("/api/records?cursor=", headers=auth).status_code == 200  # none: the first page
    both = client.get(f"/api/records?cursor={good}&page=2", headers=auth)
    assert both.status_code == 400 and both.get_json()["errors"][0]["field"] == "page"
    assert client.get(f"/api/records?cursor={good}&page=1", headers=auth).status_code == 200


def test_a_cursor_shows_only_what_its_bearer_may_see(client, bearer, many):
    """A cursor is a position, not a grant: carol following alice's cursor sees carol's records."""
    cursor = client.get("/api/records?per_page=1", headers=bearer("alice")).get_json()["next_cursor"]
    carol = client.get(f"/api/records?cursor={cursor}", headers=bearer("carol")).get_json()
    assert {item["title"].split()[0] for item in carol["items"]} <= {"Carol"}


def test_list_statement_reads_each_condition_through_a_limited_branch(app, many):
    """The page's statement is a union of branches each limited to the page (no OR over the table)."""
    alice = user_by_username("alice")
    stmt = listing.newest_visible(alice, [], Record.id, limit=10)
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True})).upper()
    assert sql.count("LIMIT 10") >= 4 and " UNION " in sql
    assert len(db.session.scalars(stmt).all()) == 10
