"""The outcomes page in a real browser, on the demo data: every chart drawn with data, no console
error, and the attribution model picker changes the credit shown."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from tests.browser.test_dashboard import (
    ARTIFACTS,
    Watched,
    browser,
    dashboard,
    pytestmark,
    serial_live_server,
)

__all__ = ["browser", "dashboard", "pytestmark", "serial_live_server"]  # fixtures, by name

OUTCOME_CHARTS = """() => Array.from(document.querySelectorAll('canvas[data-outcome-chart]'))
  .map(c => {
    const chart = Chart.getChart(c);
    const values = chart ? chart.data.datasets.flatMap(d => d.data) : [];
    return {name: c.dataset.outcomeChart, state: c.dataset.state || null,
            sum: values.reduce((n, v) => n + v, 0)};
  })"""


def credits(watched: Watched) -> str:
    return watched.page.inner_text('[data-table="attribution-link_function"] tbody')


def test_the_outcomes_page_draws_its_charts_and_the_model_picker_changes_the_credit(
    live_server: Any, dashboard: Watched
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = dashboard.page
    page.goto(f"{live_server.url}{reverse('analytics:outcomes')}?days=90&model=first_touch")
    charts = page.evaluate(OUTCOME_CHARTS)
    assert [chart["name"] for chart in charts] == ["funnel", "functions", "attribution"]
    for chart in charts:
        assert chart["state"] == "drawn", chart
        assert chart["sum"] > 0, chart
    first_touch = credits(dashboard)
    with page.expect_navigation():
        page.select_option("select[name=model]", "linear")
    assert "model=linear" in page.url
    assert credits(dashboard) != first_touch
    page.screenshot(path=str(ARTIFACTS / "dashboard-outcomes.png"), full_page=True)
    assert dashboard.problems == []
