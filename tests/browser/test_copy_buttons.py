"""Copy buttons in a real browser: Chromium (headless) via Playwright, against the live server.

The admin's redirect-URL button and the email snippet's buttons must put the right text (and, for
the email, the formatted HTML) on the clipboard, with no inline script and no console error.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.admin.utils import quote
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.test import Client
from django.urls import path, reverse

from linktrack.urls import urlpatterns as project_urlpatterns
from tests.factories import make_application, make_job
from tracking import services
from tracking.models import JobApplication, ProfileLink

# Playwright's sync API runs an event loop in this thread; the ORM calls made here between page
# actions are synchronous and safe, so Django's async-context guard is relaxed for this module.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

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


def snippet_page(request: HttpRequest, application_id: str) -> HttpResponse:
    """A bare page holding the snippet, as the dashboard's application page includes it."""
    application = JobApplication.objects.select_related("job").get(pk=application_id)
    body = render_to_string("tracking/email_snippet.html", {"application": application})
    return HttpResponse(f"<!DOCTYPE html><html><body>{body}</body></html>")


urlpatterns = [
    *project_urlpatterns,
    path("snippet/<uuid:application_id>/", snippet_page, name="snippet"),
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
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    errors: list[str] = []
    # Failed requests are checked by URL below (the browser asks for a favicon nobody serves).
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "response",
        lambda response: (
            errors.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico")
            else None
        ),
    )
    yield page
    context.close()
    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_the_admin_copies_a_links_redirect_url(page: Page, live_server: Any) -> None:
    tracking_id = services.create_tracked_link(
        original_url="https://example.com/", link_function="Portfolio", link_type="profile"
    )["tracking_id"]
    url = reverse("admin:tracking_trackedlink_change", args=[quote(tracking_id)])

    page.goto(live_server.url + url)
    page.click("button[data-copy-text]")
    page.wait_for_function(
        "() => document.querySelector('button[data-copy-text]').textContent === 'Copied'"
    )

    assert page.evaluate("navigator.clipboard.readText()") == (
        f"https://links.example.com/track/{tracking_id}"
    )


@pytest.mark.urls("tests.browser.test_copy_buttons")
@pytest.mark.django_db(transaction=True)
def test_the_snippet_copies_the_email_as_html_and_as_text(page: Page, live_server: Any) -> None:
    application = make_application(
        make_job(title="Analyst", posting_url="https://careers.example.com/1")
    )
    ProfileLink.objects.create(
        link_function="LinkedIn", url="https://linkedin.com/in/x", description="<b>Me</b>"
    )
    package = services.create_job_application_links(application_id=application.pk)

    page.goto(f"{live_server.url}/snippet/{application.pk}/")
    page.click('button[data-copy-from="text"]')
    page.wait_for_function(
        "() => document.querySelector('button[data-copy-from=\"text\"]').textContent === 'Copied'"
    )
    text = page.evaluate("navigator.clipboard.readText()")
    assert f"<b>Me</b>: {package['LinkedIn']}" in text  # plain text, not markup

    page.click('button[data-copy-from="rich"]')
    page.wait_for_function(
        "() => document.querySelector('button[data-copy-from=\"rich\"]').textContent === 'Copied'"
    )
    html = page.evaluate(
        """async () => {
            const items = await navigator.clipboard.read();
            return await (await items[0].getType("text/html")).text();
        }"""
    )
    assert f'<a href="{package["LinkedIn"]}">&lt;b&gt;Me&lt;/b&gt;</a>' in html
    assert f'href="{package["Job_Posting"]}"' in html
    # The hidden decoy link travels with the e-mail, and nobody sees it on the page.
    decoy = services.application_decoy_link(application_id=application.pk)
    assert decoy is not None and f'href="{decoy.redirect_url}"' in html
    assert page.locator(f'[data-copy-source="rich"] a[href="{decoy.redirect_url}"]').is_hidden()
    assert decoy.redirect_url not in text

    # The HTML source is copied as text (for an email tool's HTML field), escaped once.
    page.click('button[data-copy-from="html"]')
    page.wait_for_function(
        "() => document.querySelector('button[data-copy-from=\"html\"]').textContent === 'Copied'"
    )
    source = page.evaluate("navigator.clipboard.readText()")
    assert f'<a href="{package["LinkedIn"]}">&lt;b&gt;Me&lt;/b&gt;</a>' in source


@pytest.mark.django_db(transaction=True)
def test_copying_works_without_the_clipboard_api(page: Page, live_server: Any) -> None:
    # Served over plain HTTP on a LAN address, browsers hide navigator.clipboard.
    page.add_init_script("Object.defineProperty(window, 'isSecureContext', {value: false})")
    tracking_id = services.create_tracked_link(
        original_url="https://example.com/", link_function="Portfolio", link_type="profile"
    )["tracking_id"]
    url = reverse("admin:tracking_trackedlink_change", args=[quote(tracking_id)])

    page.goto(live_server.url + url)
    assert page.evaluate("window.isSecureContext") is False
    page.click("button[data-copy-text]")
    page.wait_for_function(
        "() => document.querySelector('button[data-copy-text]').textContent === 'Copied'"
    )

    assert page.evaluate("navigator.clipboard.readText()") == (
        f"https://links.example.com/track/{tracking_id}"
    )
