"""``GET /api/forms``: one page at a time, searchable, and only the page's forms compiled."""

from __future__ import annotations

from formwork.forms import catalogue


def test_forms_come_a_page_at_a_time(client, published, bearer):
    alice = bearer("alice")
    everything = client.get("/api/forms?per_page=100", headers=alice).get_json()
    keys = [item["key"] for item in everything["items"]]
    assert len(keys) >= 3 and keys == sorted(keys)
    assert everything["total"] == len(keys)
    paged = []
    for page in range(1, len(keys) + 1):
        answer = client.get(f"/api/forms?per_page=1&page={page}", headers=alice).get_json()
        assert (answer["page"], answer["per_page"], answer["total"]) == (page, 1, len(keys))
        paged += [item["key"] for item in answer["items"]]
    assert paged == keys
    beyond = client.get(f"/api/forms?per_page=1&page={len(keys) + 1}", headers=alice).get_json()
    assert beyond["items"] == [] and beyond["total"] == len(keys)


def test_forms_can_be_searched_by_key_or_title(client, published, bearer):
    alice = {**bearer("alice"), "Accept-Language": "zh-CN"}
    by_key = client.get("/api/forms?q=EXPENSE", headers=alice).get_json()
    assert [item["key"] for item in by_key["items"]] == ["expense_claim"]
    by_title = client.get("/api/forms?q=报销", headers=alice).get_json()
    assert "expense_claim" in [item["key"] for item in by_title["items"]]
    assert client.get("/api/forms?q=no-such-form", headers=alice).get_json()["total"] == 0


def test_only_the_forms_on_the_page_are_compiled(client, published, bearer, monkeypatch):
    compiled = []
    real = catalogue.form_or_unavailable

    def counting(version):
        compiled.append(version.key)
        return real(version)

    monkeypatch.setattr(catalogue, "form_or_unavailable", counting)
    answer = client.get("/api/forms?per_page=1", headers=bearer("alice")).get_json()
    assert set(compiled) == {answer["items"][0]["key"]}


def test_bad_paging_is_a_400(client, published, bearer):
    for query in ("page=0", "per_page=0", "page=x", "page=99999999999999999999"):
        assert client.get(f"/api/forms?{query}", headers=bearer("alice")).status_code == 400, query
