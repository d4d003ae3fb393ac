"""Finding people by name, user name, pinyin, pinyin initials and department."""

from __future__ import annotations

from formwork.extensions import db
from formwork.org.models import User
from formwork.org.people import find_people, search_key


def test_search_key_has_pinyin_and_initials():
    key = search_key("wangal", "王爱丽")
    assert key.split() == ["wangal", "王爱丽", "wangaili", "wal"]
    assert {"dave", "戴维", "daiwei", "dw"} <= set(search_key("dave", "戴维 Dave").split())
    assert search_key("amy", "Amy Lee") == "amy amy lee al"


def test_people_are_found_by_name_pinyin_initials_and_department(client, demo_org, login):
    db.session.add(User(username="wangal", display_name="王爱丽", department=demo_org["carol"].department))
    db.session.commit()
    assert db.session.query(User).filter_by(username="wangal").one().search_key.endswith("wangaili wal")
    names = lambda text: {p["username"] for p in find_people(text)}  # noqa: E731
    assert names("王爱") == {"wangal"}
    assert names("wangai") == {"wangal"}
    assert "wangal" in names("WAL")
    assert {"carol", "grace", "wangal"} <= names("财务")
    assert {"carol", "grace", "wangal"} <= names("finance")
    assert names("100%") == set()
    login(client, "alice")
    found = client.get("/people?q=daiw").get_json()["people"]
    assert [p["username"] for p in found] == ["dave"] and found[0]["department"]
    assert "alice" not in {p["username"] for p in client.get("/people?q=alice").get_json()["people"]}
    options = client.get("/people?q=wal", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<option value="wangal">王爱丽 (wangal)' in options


def test_renaming_a_person_updates_their_key(demo_org):
    bob = demo_org["bob"]
    bob.display_name = "包博 Bob"
    db.session.commit()
    assert "baobo" in bob.search_key.split() and "bb" in bob.search_key.split()


def test_people_needs_a_sign_in(client):
    assert client.get("/people?q=a").status_code in (302, 401)
