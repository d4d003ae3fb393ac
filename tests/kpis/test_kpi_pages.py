"""The KPI pages: the list, a KPI as a table with drill-down links, the records behind a value."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.usefixtures("claims")


def test_list_and_table_with_drill_down(client, login):
    login(client, "carol")
    listing = client.get("/kpis").get_data(as_text=True)
    assert 'href="/kpis/t_sum"' in listing
    page = client.get("/kpis/t_sum?by=department,month", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "CNY 2,050.30" in html  # the total
    links = re.findall(r'href="(/kpis/t_sum/records\?[^"]+)"', html)
    assert "CNY 400.00" in html  # Sales in January
    january = [link.replace("&amp;", "&") for link in links if "month=2026-01" in link]
    drilled = [client.get(link).get_data(as_text=True) for link in january]
    assert any("frank office" in text and "alice travel" in text and "400.00" in text for text in drilled)


def test_each_viewer_sees_their_own_numbers(client, login):
    login(client, "bob")
    html = client.get("/kpis/t_sum", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "CNY 1,450.00" in html and "2,050.30" not in html


def test_bad_grouping_is_explained(client, login):
    login(client, "carol")
    page = client.get("/kpis/t_sum?by=colour", headers={"Accept-Language": "en"})
    assert page.status_code == 400
    assert "unknown dimension" in page.get_data(as_text=True)
    assert client.get("/kpis/no_such").status_code == 404
    assert client.get("/kpis/t_sum/records?department=abc").status_code == 400


def test_in_chinese(client, login):
    login(client, "carol")
    html = client.get("/kpis/t_sum?by=month", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "合计" in html and "2,050.30 元" in html
