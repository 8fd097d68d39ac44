"""The activity page in a real browser: a new person click appears without a reload, and the
toggle brings in automated clicks with their reasons, and one click corrects a verdict (Chromium
via Playwright)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from tracking import services
from tracking.models import Job, JobApplication, LinkClick

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # see test_copy_buttons

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None  # type: ignore[assignment]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed"),
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None,
        reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server: Any, admin_user: Any) -> Iterator[Page]:
    client = Client()
    client.force_login(admin_user)
    context = browser.new_context()
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" else None,
    )
    yield page
    context.close()
    assert errors == []


def person_click(tracking_id: str, *, classification: str = "human") -> None:
    click = services.build_click(tracking_id=tracking_id, referrer_url="https://mail.google.com/")
    click.classification = classification
    click.classification_reasons = [] if classification == "human" else ["head_request"]
    services.insert_clicks([click])


@pytest.mark.django_db(transaction=True)
def test_a_new_click_appears_without_a_reload(
    page: Page, live_server: Any, admin_user: Any
) -> None:
    job = Job.objects.create(title="Data Analyst", company_name="Fabrikam")
    application = JobApplication.objects.create(job=job)
    tracking_id = services.create_tracked_link(
        original_url="https://example.org/portfolio",
        link_function="Portfolio",
        link_type="profile",
        job_id=job.id,
        application_id=application.id,
    )["tracking_id"]
    page.clock.install()
    page.goto(live_server.url + "/dashboard/activity/")
    rows = page.locator("[data-activity-rows] tr")
    assert "No person has clicked" in rows.first.inner_text()

    person_click(tracking_id)
    person_click(tracking_id, classification="scanner")
    page.evaluate("window.__sameDocument = true")
    page.clock.run_for(16_000)
    page.wait_for_function(
        "() => document.querySelectorAll('[data-activity-rows] tr:not(.automated) a').length > 0"
    )
    assert rows.count() == 1
    assert "Fabrikam" in rows.first.inner_text()
    assert "Portfolio" in rows.first.inner_text()

    page.check("[data-activity-toggle]")
    page.wait_for_function("() => document.querySelectorAll('[data-activity-rows] tr').length == 2")
    assert "head_request" in page.locator("[data-activity-rows] tr.automated").inner_text()
    assert page.evaluate("window.__sameDocument") is True  # never reloaded
    assert "automated=1" in page.url

    # One click corrects the scanner's verdict; the page comes back with the correction shown.
    with page.expect_navigation():
        page.click("[data-activity-rows] tr.automated button[data-verdict='person']")
    assert "automated=1" in page.url
    assert "Counted as a person" in page.locator("[data-message]").inner_text()
    corrected = page.locator("[data-activity-rows] [data-corrected='person']")
    assert corrected.inner_text() == "corrected by you"
    assert set(LinkClick.objects.values_list("classification", flat=True)) == {"human"}
    assert LinkClick.objects.filter(corrected_by=f"user:{admin_user.get_username()}").count() == 1
