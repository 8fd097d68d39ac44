"""The dashboard in a real browser: Chromium (headless) via Playwright, against the live server.

With the demo data loaded, each page is opened after logging in through the admin form; every chart
canvas must hold a drawn Chart.js chart with data, the console must stay free of errors and every
request must succeed. Screenshots land in ``test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from analytics import queries
from analytics.selection import Period, Selection
from tests.factories import make_user
from tracking.models import JobApplication

# Playwright's sync API runs an event loop in this thread; the ORM calls made here between page
# actions are synchronous and safe, so Django's async-context guard is relaxed for this module.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None  # type: ignore[assignment]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed"),
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None,
        reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)",
    ),
]

CHARTS_STATE = """() => Array.from(document.querySelectorAll('canvas[data-chart]')).map(c => {
  const chart = Chart.getChart(c);
  const values = chart ? chart.data.datasets.flatMap(d => d.data) : [];
  const sum = values.reduce((n, v) => n + (typeof v === 'number' ? v : (v && (v.v || v.value)) || 0), 0);
  return {name: c.dataset.chart, state: c.dataset.state || null, drawn: !!chart,
          datasets: chart ? chart.data.datasets.length : 0, sum: sum};
})"""
CHARTS_SETTLED = """() => Array.from(document.querySelectorAll('canvas[data-chart]'))
  .every(c => c.dataset.state)"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class Watched:
    """A page plus everything that went wrong on it: console errors, failed requests."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on(
            "console",
            lambda msg: (
                self.problems.append(f"console: {msg.text}") if msg.type == "error" else None
            ),
        )
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        page.on(
            "requestfailed",
            lambda req: self.problems.append(f"request failed: {req.url} {req.failure}"),
        )
        page.on(
            "response",
            lambda resp: (
                self.problems.append(f"HTTP {resp.status}: {resp.url}")
                if resp.status >= 400
                else None
            ),
        )


# One request at a time on SQLite, shared by every test: a test's set-up that writes to the database
# holds it too, so a request a previous test's page left in flight cannot write at the same moment.
SERIAL = threading.RLock()


@pytest.fixture
def serial_live_server(live_server: Any) -> Iterator[Any]:
    """The live server, answering one request at a time on SQLite.

    With SQLite the test database lives in memory and the live server's threads share one
    connection; the page's parallel chart requests would use it concurrently and can hang.
    """
    httpd = live_server.thread.httpd
    app = httpd.get_app()
    if connection.vendor != "sqlite":
        yield live_server
        return

    def serial(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with SERIAL:
            response = app(environ, start_response)
            try:
                return list(response)
            finally:
                # close() sends request_finished, whose handlers use the shared connection too.
                close = getattr(response, "close", None)
                if close is not None:
                    close()

    httpd.set_app(serial)
    yield live_server
    httpd.set_app(app)


@pytest.fixture
def dashboard(
    serial_live_server: Any, transactional_db: None, browser: Browser
) -> Iterator[Watched]:
    """A logged-in staff browser page, with the demo data loaded."""
    live_server = serial_live_server
    with SERIAL:  # a request the previous test's page left in flight waits for the set-up
        call_command("load_demo", verbosity=0)
        watcher = make_user("recruit-watcher", password="a-long-password")
        watcher.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watched = Watched(page)
    page.goto(f"{live_server.url}/")
    assert "/admin/login/" in page.url  # the dashboard asked for a login
    page.fill("#id_username", "recruit-watcher")
    page.fill("#id_password", "a-long-password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}{reverse('analytics:overview')}")
    # Let the landing page finish its chart requests, so the next navigation aborts none.
    page.wait_for_function(CHARTS_SETTLED, timeout=15_000)
    yield watched
    context.close()
    with SERIAL:  # a request the page left in flight finishes before the next set-up
        pass


def open_page(watched: Watched, url: str) -> list[dict[str, Any]]:
    watched.page.goto(url)
    watched.page.wait_for_function(CHARTS_SETTLED, timeout=15_000)
    return watched.page.evaluate(CHARTS_STATE)


def stat(page: Page, name: str) -> int:
    return int(page.inner_text(f'[data-stat="{name}"]'))


def assert_every_chart_has_data(charts: list[dict[str, Any]], page_name: str) -> None:
    assert charts, f"{page_name}: no charts on the page"
    for chart in charts:
        assert chart["drawn"], f"{page_name}: chart {chart['name']} was not drawn"
        assert chart["state"] == "drawn", f"{page_name}: chart {chart['name']} is {chart['state']}"
        assert chart["datasets"] > 0, f"{page_name}: chart {chart['name']} has no dataset"
        assert chart["sum"] > 0, f"{page_name}: chart {chart['name']} shows only zeros"


def busiest_targets() -> dict[str, str]:
    """A job, link and application of the demo data with clicks by people in the last 30 days."""
    start, end = Period.for_days(30)
    job = queries.top_jobs(Selection.of(start=start, end=end), limit=1)[0]
    link = queries.top_links(Selection.of(start=start, end=end), limit=1)[0]
    application = max(
        JobApplication.objects.filter(links__isnull=False).distinct(),
        key=lambda app: queries.click_totals(
            Selection.of(start=start, end=end, application_id=app.pk)
        )["human_clicks"],
    )
    return {
        "job": reverse("analytics:job-detail", args=[job["job_id"]]),
        "link": reverse("analytics:link-detail", args=[link["tracking_id"]]),
        "application": reverse("analytics:application-detail", args=[application.pk]),
    }


def test_every_page_draws_its_charts_with_data(live_server: Any, dashboard: Watched) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    targets = {"overview": reverse("analytics:overview"), **busiest_targets()}
    for name, path in targets.items():
        charts = open_page(dashboard, f"{live_server.url}{path}")
        assert_every_chart_has_data(charts, name)
        dashboard.page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)
    assert dashboard.problems == []


def test_the_filters_change_the_numbers_and_stay_in_the_url(
    live_server: Any, dashboard: Watched
) -> None:
    page = dashboard.page
    open_page(dashboard, f"{live_server.url}{reverse('analytics:overview')}")
    thirty_days = stat(page, "total_clicks")

    with page.expect_navigation():
        page.select_option("select[name=days]", "7")
    page.wait_for_function(CHARTS_SETTLED)
    assert "days=7" in page.url
    assert stat(page, "total_clicks") < thirty_days

    with page.expect_navigation():
        page.check("input[name=automated]")
    page.wait_for_function(CHARTS_SETTLED)
    assert "automated=1" in page.url
    assert stat(page, "total_clicks") == stat(page, "human_clicks") + stat(page, "automated_clicks")
    assert stat(page, "automated_clicks") > 0

    # A custom range with no clicks: the numbers drop to zero and the charts say so.
    page.select_option("select[name=days]", "custom")
    page.fill("input[name=from]", "2020-01-01")
    page.fill("input[name=to]", "2020-01-31")
    with page.expect_navigation():
        page.click(".filters button[type=submit]")
    page.wait_for_function(CHARTS_SETTLED)
    assert "from=2020-01-01" in page.url
    assert stat(page, "total_clicks") == 0
    assert page.locator(".chart-empty:visible").count() > 0
    assert dashboard.problems == []


def test_the_dashboard_fits_a_phone_screen(live_server: Any, dashboard: Watched) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = dashboard.page
    page.set_viewport_size({"width": 390, "height": 844})
    charts = open_page(dashboard, f"{live_server.url}{reverse('analytics:overview')}")
    assert_every_chart_has_data(charts, "overview (phone)")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
    page.screenshot(path=str(ARTIFACTS / "dashboard-overview-phone.png"), full_page=True)
    assert dashboard.problems == []


def test_the_copy_button_copies_the_redirect_url(live_server: Any, dashboard: Watched) -> None:
    page = dashboard.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_page(dashboard, f"{live_server.url}{busiest_targets()['link']}")
    page.click("button[data-copy]")
    page.wait_for_selector("[data-copy-status]:has-text('Copied')")
    assert dashboard.problems == []
