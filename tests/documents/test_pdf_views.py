"""GET /records/<id>/pdf and GET /api/records/<id>/pdf: the caller's records only."""

from __future__ import annotations

from conftest import pdf_text


def test_api_returns_the_pdf_with_a_safe_file_name(client, published, make_claim, bearer, tmp_path):
    record = make_claim(rows=3)
    response = client.get(f"/api/records/{record.id}/pdf", headers=bearer("alice"))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="expense_claim-{record.id}.pdf"'
    assert response.data.startswith(b"%PDF")
    assert "费用报销单" in "".join(pdf_text(response.data, tmp_path).split())


def test_another_users_record_is_404_in_the_api(client, published, make_claim, bearer):
    record = make_claim(rows=1)
    response = client.get(f"/api/records/{record.id}/pdf", headers=bearer("erin"))
    assert response.status_code == 404
    assert response.get_json() == {"error": "record not found"}
    assert client.get("/api/records/999999/pdf", headers=bearer("alice")).status_code == 404


def test_unauthenticated_api_is_401(client, published, make_claim):
    record = make_claim(rows=1)
    response = client.get(f"/api/records/{record.id}/pdf")
    assert response.status_code == 401 and response.is_json


def test_browser_pdf_and_link_on_the_record_page(client, login, published, make_claim):
    record = make_claim(rows=2)
    login(client, "alice")
    page = client.get(f"/records/{record.id}")
    assert f'href="/records/{record.id}/pdf"' in page.get_data(as_text=True)
    response = client.get(f"/records/{record.id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline;")


def test_another_users_record_is_404_in_the_browser(client, login, published, make_claim):
    record = make_claim(rows=1)
    login(client, "erin")
    assert client.get(f"/records/{record.id}/pdf").status_code == 404


def test_administrator_may_print_any_record(client, published, make_claim, bearer):
    record = make_claim(rows=1)
    assert client.get(f"/api/records/{record.id}/pdf", headers=bearer("admin")).status_code == 200
