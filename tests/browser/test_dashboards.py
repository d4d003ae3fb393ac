"""A dashboard in the browser: cards and charts drawn by ECharts without a console error, the
period changed through the filter (the address follows), and a click on a department's bar that
opens the records behind it."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from formwork import business_time
from formwork.definitions import store
from formwork.extensions import db
from formwork.org.models import User
from formwork.records.models import Record


def _approved_claims(app) -> None:
    """Approved claims of Purchasing (henry) and Legal (ivan) dated this month."""
    with app.app_context():
        version = store.current_version("form", "expense_claim")
        day = business_time.today().replace(day=1).isoformat()
        for username, amount in (("henry", "880.00"), ("ivan", "120.00")):
            user = db.session.query(User).filter_by(username=username).one()
            db.session.add(
                Record(
                    form_key="expense_claim",
                    definition_id=version.id,
                    form_version=version.version,
                    data={
                        "category": "office",
                        "reason": "Dashboard sample",
                        "lines": [{"date": day, "amount": amount}],
                    },
                    status="approved",
                    title=f"Dashboard sample {username}",
                    owner_id=user.id,
                    department_id=user.department_id,
                )
            )
        db.session.commit()


def test_open_a_dashboard_change_the_period_and_drill_into_a_bar(page: Page, live_app, sign_in):
    _approved_claims(live_app)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.emulate_media(reduced_motion="reduce")  # the bars stand still where the mouse will click
    sign_in(page, "carol")
    page.goto("/dashboards/finance")
    expect(page.locator(".kpi-card").first).to_be_visible()
    expect(page.locator(".chart canvas").first).to_be_visible()  # ECharts drew

    page.locator("select[name=period]").select_option("year")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"period=year"))
    expect(page.locator(".dashboard__span")).to_contain_text(str(business_time.today().year))

    # The bars by department: click Purchasing's bar where ECharts drew it.
    chart = page.locator(".dashboard-chart", has_text="Expenses by department").locator(".chart")
    expect(chart.locator("canvas")).to_be_visible()
    labels = page.evaluate("el => JSON.parse(el.dataset.chart).labels", chart.element_handle())
    index = labels.index("Purchasing")
    x, y = page.evaluate(
        """([el, index]) => {
            const spec = JSON.parse(el.dataset.chart);
            const instance = echarts.getInstanceByDom(el);
            const middle = (Number(spec.values[index]) * Number(spec.scale)) / 2;
            return instance.convertToPixel({seriesIndex: 0}, [index, middle]);
        }""",
        [chart.element_handle(), index],
    )
    chart.scroll_into_view_if_needed()  # a mouse clicks within the window
    box = chart.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_url(re.compile(r"/kpis/expense_total/records\?department=\d+"))
    expect(page.locator("body")).to_contain_text("Dashboard sample henry")
    expect(page.locator("body")).not_to_contain_text("Dashboard sample ivan")
    assert errors == [], errors
