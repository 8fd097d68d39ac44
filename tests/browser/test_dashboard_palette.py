"""The overview in Chromium: one meaning per card, and one colour per meaning in every chart."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from django.urls import reverse

from tests.browser.test_dashboard import (
    CHROMIUM,
    Watched,
    browser,  # noqa: F401 - the module-scoped Chromium fixture
    dashboard,  # noqa: F401 - a logged-in staff page with the demo data
    open_page,
    serial_live_server,  # noqa: F401 - used by the dashboard fixture
    sync_playwright,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed"),
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None,
        reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)",
    ),
]

# Every chart's datasets with their colours, and the palette as the stylesheet defines it.
CHART_COLOURS = """() => {
  const css = getComputedStyle(document.documentElement);
  const palette = {};
  for (const name of ['people', 'automated', 'owner', 'clicks']) {
    palette[name] = css.getPropertyValue('--' + name).trim();
  }
  const charts = Array.from(document.querySelectorAll('canvas[data-chart]')).map(c => {
    const chart = Chart.getChart(c);
    return {name: c.dataset.chart, type: chart.config.type, labels: chart.data.labels || [],
            datasets: chart.data.datasets.map(d => ({label: d.label, colour: d.backgroundColor}))};
  });
  return {palette, charts};
}"""

CARDS = """() => Array.from(document.querySelectorAll('.totals > div')).map(d => ({
  label: d.querySelector('dt').innerText.trim(), value: d.querySelector('dd').innerText.trim()}))"""


def test_each_overview_card_has_its_own_meaning(live_server: Any, dashboard: Watched) -> None:  # noqa: F811
    overview = f"{live_server.url}{reverse('analytics:overview')}"
    for query, expected in (
        ("", ["Clicks by people", "Automated (not counted)"]),
        ("?automated=1", ["All clicks", "People", "Automated"]),
    ):
        open_page(dashboard, overview + query)
        labels = [card["label"] for card in dashboard.page.evaluate(CARDS)]
        assert labels[: len(expected)] == expected, labels
        assert len(labels) == len(set(labels))
        assert not {"Clicks by people", "People"} <= set(labels)
    assert dashboard.problems == []


def test_people_automated_and_categories_keep_their_colours_in_every_chart(
    live_server: Any,
    dashboard: Watched,  # noqa: F811
) -> None:
    open_page(dashboard, f"{live_server.url}{reverse('analytics:overview')}?automated=1")
    state = dashboard.page.evaluate(CHART_COLOURS)
    palette = state["palette"]
    assert palette["people"] and palette["automated"] and palette["owner"]
    meanings = {palette["people"], palette["automated"], palette["owner"]}
    seen = {"People": 0, "Automated": 0}
    for chart in state["charts"]:
        if chart["type"] == "choropleth":
            continue  # the world map shades countries on a value scale: no meaning to keep
        for dataset in chart["datasets"]:
            colour = dataset["colour"]
            if chart["type"] == "doughnut":
                by_label = dict(zip(chart["labels"], colour, strict=False))
                if chart["name"] == "classifications":
                    assert by_label.get("Person", palette["people"]) == palette["people"]
                else:
                    # Devices, sources…: categories never wear a meaning's colour.
                    assert not meanings & set(colour), (chart["name"], by_label)
            elif dataset["label"] in seen:
                key = dataset["label"].lower()
                assert colour == palette[key], (chart["name"], dataset["label"], colour)
                seen[dataset["label"]] += 1
            else:
                assert colour.removesuffix("99") not in meanings, (chart["name"], dataset)
    assert seen["People"] >= 2 and seen["Automated"] >= 2, seen
    assert dashboard.problems == []
