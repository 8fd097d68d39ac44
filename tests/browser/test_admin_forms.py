"""The admin in Chromium at 1280 px, as a first-time user drives it: the link list fits the screen,
add forms hold only what a user fills in, jobs and applications are found by name, "Other" opens a
box for one's own link type, and the link-package action says what it did."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connections
from django.urls import reverse

from tests.browser.test_dashboard import (
    CHROMIUM,
    SERIAL,
    Watched,
    browser,  # noqa: F401 - the module-scoped Chromium fixture
    serial_live_server,  # noqa: F401 - the live server, one request at a time on SQLite
    sync_playwright,
)
from tests.factories import make_application, make_user
from tracking.models import Job, JobApplication, TrackedLink

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed"),
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None,
        reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)",
    ),
]

WIDTH = 1280


@pytest.fixture
def admin_page(
    serial_live_server: Any,  # noqa: F811
    transactional_db: None,
    browser: Any,  # noqa: F811
) -> Iterator[Watched]:
    """A superuser's page at 1280 by 900 px, with the demo data loaded."""
    with SERIAL:  # no request left in flight by the previous test writes meanwhile
        try:
            call_command("load_demo", verbosity=0)
        except DatabaseError:
            # On SQLite the previous test's live-server thread now and then leaves this thread's
            # connection unusable; load_demo's one transaction rolled back, so load it afresh.
            connections.close_all()
            call_command("load_demo", verbosity=0)
        make_user("first-hour", superuser=True, password="a-long-password")
    context = browser.new_context(viewport={"width": WIDTH, "height": 900})
    page = context.new_page()
    watched = Watched(page)
    page.goto(f"{serial_live_server.url}/admin/login/")
    page.fill("#id_username", "first-hour")
    page.fill("#id_password", "a-long-password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{serial_live_server.url}/admin/")
    yield watched
    # No request may still be running when the next test's set-up writes to the database.
    page.wait_for_load_state("networkidle")
    context.close()


def problems(watched: Watched) -> list[str]:
    """What went wrong on the page, less select2 cancelling a search that a newer one replaced."""
    return [
        text
        for text in watched.problems
        if not ("/admin/autocomplete/" in text and "ERR_ABORTED" in text)
    ]


def test_the_link_list_fits_a_1280_px_screen(live_server: Any, admin_page: Watched) -> None:
    page = admin_page.page
    page.goto(f"{live_server.url}{reverse('admin:tracking_trackedlink_changelist')}")
    size = page.evaluate(
        """() => {
      const results = document.querySelector('#changelist .results');
      const table = document.querySelector('#result_list');
      const filter = document.querySelector('#changelist-filter');
      return {page: document.documentElement.scrollWidth, inner: results.scrollWidth,
              box: results.clientWidth, right: table.getBoundingClientRect().right,
              filterLeft: filter ? filter.getBoundingClientRect().left : window.innerWidth};
    }"""
    )
    assert size["page"] <= WIDTH, size
    assert size["inner"] <= size["box"], f"the table scrolls inside its box: {size}"
    assert size["right"] <= size["filterLeft"], f"the filters cover the table: {size}"
    headers = page.locator("#result_list thead th").all_inner_texts()
    # Words stay whole: a one-word header or link function takes one line, never "FUNCTIO / N".
    broken = page.evaluate(
        """() => [...document.querySelectorAll(
            '#result_list thead th, #result_list td.field-function')].filter(cell => {
          const text = cell.innerText.trim();
          if (!text || /\\s/.test(text)) return false;
          const tops = new Set();
          const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (!node.textContent.trim()) continue;
            const range = document.createRange();
            range.selectNodeContents(node);
            for (const rect of range.getClientRects()) tops.add(Math.round(rect.top));
          }
          return tops.size > 1;
        }).map(cell => cell.innerText.trim())"""
    )
    assert broken == [], f"words broken across lines: {broken}"
    assert [h.strip().lower() for h in headers[1:]] == [
        "link",
        "function",
        "job",
        "people",
        "automated",
        "last person click",
    ]
    assert problems(admin_page) == []


def test_the_application_add_form_asks_only_what_a_user_knows(
    live_server: Any, admin_page: Watched
) -> None:
    page = admin_page.page
    page.goto(f"{live_server.url}{reverse('admin:tracking_jobapplication_add')}")
    labels = [text.strip().rstrip(":") for text in page.locator("form label").all_inner_texts()]
    assert "Id" not in labels and "Dashboard" not in labels
    assert page.locator("input[name=id]").count() == 0
    assert page.locator(".field-dashboard, .field-created_at").count() == 0

    page.click(".field-job .select2-selection")
    page.fill(".select2-search__field", "Fabrikam")
    option = page.locator(".select2-results__option", has_text="Data Analyst at Fabrikam")
    option.wait_for()
    option.click()
    page.click("input[name=_save]")
    page.wait_for_url(f"{live_server.url}{reverse('admin:tracking_jobapplication_changelist')}")
    assert JobApplication.objects.filter(job__company_name="Fabrikam").count() >= 2
    assert problems(admin_page) == []


def test_a_link_is_added_with_its_job_found_by_name_and_its_own_link_type(
    live_server: Any, admin_page: Watched
) -> None:
    page = admin_page.page
    page.goto(f"{live_server.url}{reverse('admin:tracking_trackedlink_add')}")
    other = page.locator("input[name=link_type_1]")
    assert not other.is_visible()  # shown only for "Other"

    page.fill("input[name=original_url]", "https://steveglen.com/talks/2025")
    page.fill("input[name=link_function]", "Talk")
    page.select_option("select[name=link_type_0]", "__other__")
    assert other.is_visible()
    other.fill("conference_talk")
    page.click(".field-job .select2-selection")
    page.fill(".select2-search__field", "Tailspin")
    page.locator(".select2-results__option", has_text="Product Designer at Tailspin Toys").click()
    page.click("input[name=_save]")
    page.wait_for_url(f"{live_server.url}{reverse('admin:tracking_trackedlink_changelist')}")

    link = TrackedLink.objects.get(link_function="Talk")
    assert link.link_type == "conference_talk"
    assert link.job is not None and link.job.company_name == "Tailspin Toys"
    assert problems(admin_page) == []


def test_the_link_package_action_says_what_it_created(
    live_server: Any, admin_page: Watched
) -> None:
    application = make_application(Job.objects.filter(posting_url__gt="")[0])
    page = admin_page.page
    page.goto(f"{live_server.url}{reverse('admin:tracking_jobapplication_changelist')}")
    page.check(f"input[name=_selected_action][value='{application.pk}']")
    page.select_option("select[name=action]", "create_link_package")
    page.click("button[name=index]")
    message = page.locator(".messagelist li").first.inner_text()
    assert "created LinkedIn, Portfolio, Calendly, GitHub" in message, message
    assert problems(admin_page) == []
