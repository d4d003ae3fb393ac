"""KPI values against hand-computed figures on the fixed data set (kpi_samples.py), on the database
the run uses (SQLite, or PostgreSQL with --postgres): every measure type, formulas, time grains,
roll-up along the department tree, division by zero, empty periods, two viewers, drill-down."""

from __future__ import annotations

from decimal import Decimal

import pytest

from formwork.extensions import db
from formwork.org.models import Department
from formwork.records.models import Record, RecordFact

pytestmark = pytest.mark.usefixtures("claims")


def get(client, bearer, user, key, **params):
    response = client.get(f"/api/kpis/{key}", query_string=params, headers=bearer(user))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def by_cell(answer) -> dict:
    """(department code or None, period or None) → value as Decimal (None: no value)."""
    found = {}
    for row in answer["rows"]:
        dims = row["dimensions"]
        dept = dims["department"]["code"] if "department" in dims else None
        period = next((v for k, v in dims.items() if k != "department"), None)
        found[(dept, period)] = None if row["value"] is None else Decimal(str(row["value"]))
    return found


def total(answer):
    value = answer["total"]["value"]
    return None if value is None else Decimal(str(value))


def dept_id(code: str) -> int:
    return db.session.query(Department).filter_by(code=code).one().id


def test_sum_by_department_rolls_up_the_tree(client, bearer):
    answer = get(client, bearer, "carol", "t_sum", by="department")
    assert by_cell(answer) == {
        ("HQ", None): Decimal("2050.30"),
        ("SALES", None): Decimal("1450.00"),
        ("FIN", None): Decimal("600.10"),
        ("HR", None): Decimal("0.20"),
    }
    assert total(answer) == Decimal("2050.30")
    assert answer["total"]["value"] == "2050.30"  # money to the cent, exact text


def test_sum_by_department_and_month(client, bearer):
    cells = by_cell(get(client, bearer, "carol", "t_sum", by="department,month"))
    assert cells == {
        ("HQ", "2026-01"): Decimal("600.10"),
        ("HQ", "2026-02"): Decimal("450.00"),
        ("HQ", "2026-03"): Decimal("0.20"),
        ("HQ", "2026-04"): Decimal("1000.00"),
        ("SALES", "2026-01"): Decimal("400.00"),
        ("SALES", "2026-02"): Decimal("50.00"),
        ("SALES", "2026-04"): Decimal("1000.00"),
        ("FIN", "2026-01"): Decimal("200.10"),
        ("FIN", "2026-02"): Decimal("400.00"),
        ("HR", "2026-03"): Decimal("0.20"),
    }


@pytest.mark.parametrize(
    ("grain", "expected"),
    [
        ("year", {"2026": "2050.30"}),
        ("quarter", {"2026-Q1": "1050.30", "2026-Q2": "1000.00"}),
        (
            "week",  # labelled by the week's Monday
            {
                "2026-01-05": "100.00",
                "2026-01-19": "300.00",
                "2026-01-26": "200.10",
                "2026-02-02": "50.00",
                "2026-02-09": "400.00",
                "2026-02-23": "0.20",
                "2026-03-30": "1000.00",
            },
        ),
        (
            "day",
            {
                "2026-01-10": "100.00",
                "2026-01-20": "300.00",
                "2026-01-31": "200.10",
                "2026-02-05": "50.00",
                "2026-02-14": "400.00",
                "2026-03-01": "0.20",
                "2026-04-01": "1000.00",
            },
        ),
    ],
)
def test_time_grains(client, bearer, grain, expected):
    cells = by_cell(get(client, bearer, "carol", "t_sum", by=grain))
    assert cells == {(None, period): Decimal(v) for period, v in expected.items()}


def test_every_aggregate_by_department(client, bearer):
    def cells(key):
        return by_cell(get(client, bearer, "carol", key, by="department"))

    avg = cells("t_avg")
    assert avg[("HQ", None)] == Decimal("256.2875")  # 2050.30 / 8 lines, not the mean of departments
    assert avg[("SALES", None)] == Decimal("362.5")
    assert avg[("FIN", None)].quantize(Decimal("1e-10")) == Decimal("200.0333333333")
    assert cells("t_min")[("HQ", None)] == Decimal("0.10")
    assert cells("t_min")[("SALES", None)] == Decimal("50.00")
    assert cells("t_max")[("HQ", None)] == Decimal("1000.00")
    assert cells("t_max")[("FIN", None)] == Decimal("400.00")
    assert cells("t_lines") == {
        ("HQ", None): 8,
        ("SALES", None): 4,
        ("FIN", None): 3,
        ("HR", None): 1,
    }
    assert cells("t_claimants")[("HQ", None)] == 6
    assert cells("t_claimants")[("SALES", None)] == 3


def test_counts_are_recounted_per_grain_not_added(client, bearer):
    """Claim 1 has lines in January and February: it counts once in each month, once overall."""
    answer = get(client, bearer, "carol", "t_claims", by="month")
    months = by_cell(answer)
    assert months == {(None, "2026-01"): 3, (None, "2026-02"): 2, (None, "2026-03"): 1, (None, "2026-04"): 1}
    assert sum(months.values()) == 7
    assert total(answer) == 6
    claimants = by_cell(get(client, bearer, "carol", "t_claimants", by="month"))
    assert claimants[(None, "2026-01")] == 3  # alice, frank, grace


def test_ratio_is_recomputed_at_every_level_of_the_tree(client, bearer):
    answer = get(client, bearer, "carol", "t_travel_ratio", by="department,month")
    cells = by_cell(answer)
    assert cells[("SALES", "2026-01")] == Decimal("0.25")  # 100 / 400
    assert cells[("FIN", "2026-01")] == Decimal("1")  # 200.10 / 200.10
    head_office = cells[("HQ", "2026-01")]  # (100 + 200.10) / (400 + 200.10)
    assert head_office.quantize(Decimal("1e-10")) == (Decimal("300.10") / Decimal("600.10")).quantize(
        Decimal("1e-10")
    )
    assert head_office != Decimal("1.25") and head_office != Decimal("0.625")  # neither summed nor averaged
    assert cells[("HQ", "2026-04")] == Decimal("0")  # 0 / 1000
    overall = total(answer)
    assert overall.quantize(Decimal("1e-10")) == (Decimal("350.10") / Decimal("2050.30")).quantize(
        Decimal("1e-10")
    )


def test_targets_and_levels_overall_and_per_department(client, bearer):
    answer = get(client, bearer, "carol", "t_travel_ratio", by="department,month")
    rows = {(r["dimensions"]["department"]["code"], r["dimensions"]["month"]): r for r in answer["rows"]}
    assert rows[("HQ", "2026-01")]["level"] == "warning"  # 0.50008 >= 0.5, lower is better
    assert rows[("FIN", "2026-01")]["level"] == "alert"  # 1 >= 0.7
    assert rows[("SALES", "2026-01")]["level"] == "normal"  # SALES' own thresholds: 0.9 / 0.95
    assert rows[("HR", "2026-03")]["level"] == "normal"  # 0
    assert rows[("FIN", "2026-01")]["target"] == "0.4"
    assert rows[("SALES", "2026-01")]["display"] == "25.00%"


def test_budget_execution_and_division_by_zero(client, bearer):
    answer = get(client, bearer, "carol", "t_execution", by="department,quarter")
    cells = by_cell(answer)
    assert cells[("SALES", "2026-Q1")] == Decimal("0.45")  # 450 / 1000
    assert cells[("SALES", "2026-Q2")] == Decimal("2")  # 1000 / 500
    assert cells[("FIN", "2026-Q1")] is None  # 600.10 / 0: no value, never an error
    assert cells[("HQ", "2026-Q1")] == Decimal("1.0503")  # 1050.30 / (1000 + 0)
    assert cells[("HR", "2026-Q1")] is None  # no budget at all
    rows = {(r["dimensions"]["department"]["code"], r["dimensions"]["quarter"]): r for r in answer["rows"]}
    assert rows[("FIN", "2026-Q1")]["measures"] == {"spent": "600.10", "budget": "0.00"}
    assert rows[("FIN", "2026-Q1")]["display"] == "—"


def test_budget_by_month_is_refused(client, bearer):
    response = client.get(
        "/api/kpis/t_execution?by=month", headers={**bearer("carol"), "Accept-Language": "en"}
    )
    assert response.status_code == 400
    assert "quarter" in response.get_json()["error"]


def test_difference_with_a_missing_budget_has_no_value(client, bearer):
    """carol sees only her own department's budget here (the measure names no roles)."""
    cells = by_cell(get(client, bearer, "carol", "t_difference", by="department,quarter"))
    assert cells[("FIN", "2026-Q1")] == Decimal("-600.10")  # 0 - 600.10
    assert cells[("SALES", "2026-Q1")] is None  # SALES' budget is not hers to see


def test_empty_period(client, bearer):
    period = {"from": "2026-05-01", "to": "2026-06-30"}
    answer = get(client, bearer, "carol", "t_travel_ratio", by="month", **period)
    assert answer["rows"] == []
    assert answer["total"]["value"] is None  # 0 / 0
    assert get(client, bearer, "carol", "t_sum", **{"from": "2026-05-01"})["total"]["value"] == "0.00"
    assert get(client, bearer, "carol", "t_lines", **{"from": "2026-05-01"})["total"]["value"] == 0


def test_date_range_and_filters(client, bearer):
    answer = get(client, bearer, "carol", "t_sum", **{"from": "2026-01-15", "to": "2026-02-14"})
    assert total(answer) == Decimal("950.10")  # 300 + 200.10 + 50 + 400
    assert total(get(client, bearer, "carol", "t_sum", department=dept_id("SALES"))) == Decimal("1450.00")
    assert total(get(client, bearer, "carol", "t_sum", category="travel")) == Decimal("350.10")
    cells = by_cell(get(client, bearer, "carol", "t_sum", by="category"))
    assert cells[(None, "office")] == Decimal("700.00")


def test_two_viewers_get_their_own_numbers(client, bearer):
    assert total(get(client, bearer, "carol", "t_sum")) == Decimal("2050.30")  # finance: every claim
    assert total(get(client, bearer, "bob", "t_sum")) == Decimal("1450.00")  # head of Sales: Sales
    assert total(get(client, bearer, "alice", "t_sum")) == Decimal("150.00")  # an employee: her own
    assert total(get(client, bearer, "erin", "t_sum")) == Decimal("600.30")  # HR: all but Sales
    bob = by_cell(get(client, bearer, "bob", "t_execution", by="department,quarter"))
    assert bob == {
        ("HQ", "2026-Q1"): Decimal("0.45"),
        ("HQ", "2026-Q2"): Decimal("2"),
        ("SALES", "2026-Q1"): Decimal("0.45"),
        ("SALES", "2026-Q2"): Decimal("2"),
    }


def test_drill_down_rows_add_up_to_the_value(client, bearer):
    sales = dept_id("SALES")
    for user, expected_ids, expected in (("carol", 2, "400.00"), ("alice", 1, "100.00")):
        response = client.get(
            f"/api/kpis/t_sum/records?department={sales}&month=2026-01", headers=bearer(user)
        )
        assert response.status_code == 200
        body = response.get_json()
        assert body["value"] == expected
        assert len(body["rows"]) == expected_ids
        assert sum(Decimal(r["value"]) for r in body["rows"]) == Decimal(expected)
    count = client.get("/api/kpis/t_claims/records?month=2026-01", headers=bearer("carol")).get_json()
    assert count["value"] == 3 and sum(r["value"] for r in count["rows"]) == 3
    finance = dept_id("FIN")
    nothing = client.get(f"/api/kpis/t_sum/records?department={finance}", headers=bearer("bob")).get_json()
    assert nothing["rows"] == [] and nothing["value"] == "0.00"


def test_values_follow_every_write_and_the_rebuild(client, bearer, runner):
    record = db.session.query(Record).filter_by(title="frank office").one()
    record.data = {**record.data, "lines": [{"date": "2026-01-20", "amount": "350.00"}]}
    db.session.commit()
    assert total(get(client, bearer, "carol", "t_sum")) == Decimal("2100.30")
    db.session.query(RecordFact).delete()
    db.session.commit()
    assert total(get(client, bearer, "carol", "t_sum")) == Decimal("0.00")
    result = runner.invoke(args=["projections", "rebuild", "--form", "expense_claim"])
    assert result.exit_code == 0, result.output
    assert total(get(client, bearer, "carol", "t_sum")) == Decimal("2100.30")
    db.session.delete(record)
    db.session.commit()
    assert total(get(client, bearer, "carol", "t_sum")) == Decimal("1750.30")
