"""My requests a page at a time: the "Next" link carries a cursor, so every request is listed once
across the pages (ties in their dates included); the count stops at the cap; a changed or
made-up cursor shows the first page, never an error."""

from __future__ import annotations

import html as html_lib
import re
from datetime import datetime, timezone

from sqlalchemy import func, select

from formwork.extensions import db
from formwork.org.users import user_by_username
from formwork.records import access, listing
from formwork.records.models import Record
from formwork.workflow import submission
from formwork.workflow.my_requests import newest_key

TIED = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
ROW = re.compile(r'<td><a href="/records/(\d+)">')
NEXT = re.compile(r'<a [^>]*rel="next" href="([^"]+)"')


def _walk(client, url: str) -> list[int]:
    seen: list[int] = []
    for _ in range(50):
        page = client.get(url)
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        seen += [int(found) for found in ROW.findall(text)]
        following = NEXT.search(text)
        if following is None:
            return seen
        url = html_lib.unescape(following.group(1))
    raise AssertionError("the pages never ended")


def _expected(user, own: bool) -> list[int]:
    stmt = (
        select(Record.id).where(Record.owner_id == user.id)
        if own
        else access.visible_records(user).with_only_columns(Record.id)
    )
    key = newest_key("mine" if own else "all")
    return list(db.session.scalars(stmt.order_by(key.desc(), Record.id.desc())))


def _requests(submit, claim_drafts: int = 2) -> None:
    submitted = [submit("alice", "1200.00", reason=f"Trip {n}") for n in range(5)]
    for n in range(claim_drafts):
        submission.create_record(
            "expense_claim",
            {"category": "other", "reason": f"Draft {n}"},
            user_by_username("alice"),
            submit=False,
        )
    db.session.commit()
    # Three requests submitted at the same moment: the order among them is by id.
    db.session.execute(
        Record.__table__.update()
        .where(Record.id.in_([r.id for r in submitted[1:4]]))
        .values(submitted_at=TIED)
    )
    db.session.commit()


def test_next_links_list_every_request_once(app, monkeypatch, client, login, submit):
    _requests(submit)
    monkeypatch.setitem(app.config, "FORMWORK_PAGE_SIZE", 2)
    login(client, "alice")
    alice = user_by_username("alice")
    assert _walk(client, "/requests") == _expected(alice, own=True)
    assert len(_expected(alice, own=True)) == 7
    first = client.get("/requests").get_data(as_text=True)
    assert "cursor=" in first and "page=2" in first and "First page" not in first
    second = client.get(html_lib.unescape(NEXT.search(first).group(1))).get_data(as_text=True)
    assert "Page 2" in second and "First page" in second
    # Filters are kept from page to page.
    assert _walk(client, "/requests?status=draft") == [
        i for i in _expected(alice, own=True) if db.session.get(Record, i).status == "draft"
    ]
    # bob, head of Sales: his tasks' records (alice's submitted claims), not her drafts.
    login(client, "bob")
    bob = user_by_username("bob")
    seen = _walk(client, "/requests?scope=all")
    assert seen == _expected(bob, own=False) and len(seen) == 5


def test_the_count_stops_at_the_cap(app, monkeypatch, client, login, submit):
    _requests(submit)
    login(client, "alice")
    assert "7 request(s)" in client.get("/requests").get_data(as_text=True)
    monkeypatch.setitem(app.config, "FORMWORK_COUNT_CAP", 3)
    assert "More than 3 requests" in client.get("/requests").get_data(as_text=True)
    chinese = client.get("/requests", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "超过 3 个申请" in chinese
    assert db.session.scalar(select(func.count()).select_from(Record)) == 7


def test_a_changed_or_made_up_cursor_shows_the_first_page(app, monkeypatch, client, login, submit):
    _requests(submit, claim_drafts=0)
    monkeypatch.setitem(app.config, "FORMWORK_PAGE_SIZE", 2)
    login(client, "alice")
    first = client.get("/requests").get_data(as_text=True)
    cursor = re.search(r"cursor=([^&\"]+)", first).group(1)
    for bad in ("junk", cursor[:-3] + "abc", cursor + "x", "a" * 400):
        page = client.get(f"/requests?cursor={bad}&page=9")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert ROW.findall(text) == ROW.findall(first) and "First page" not in text
    # A NUL in any parameter is refused before the page runs, with a clear message.
    assert client.get("/requests?cursor=%00").status_code == 400
    # A cursor of the API's record list is not one of this list.
    with app.test_request_context():
        api_cursor = listing.encode_cursor(listing.After(TIED, 10**6))
    assert ROW.findall(client.get(f"/requests?cursor={api_cursor}").get_data(as_text=True)) == ROW.findall(
        first
    )


def test_a_cursor_of_ones_own_list_does_not_page_everything_one_sees(app, monkeypatch, client, login, submit):
    """The two lists have two orders (own: by submission; all: by creation): a cursor fits one."""
    _requests(submit, claim_drafts=0)
    monkeypatch.setitem(app.config, "FORMWORK_PAGE_SIZE", 2)
    login(client, "alice")
    own = client.get("/requests").get_data(as_text=True)
    cursor = re.search(r"cursor=([^&\"]+)", own).group(1)
    everything = client.get("/requests?scope=all").get_data(as_text=True)
    crossed = client.get(f"/requests?scope=all&cursor={cursor}").get_data(as_text=True)
    assert ROW.findall(crossed) == ROW.findall(everything)
