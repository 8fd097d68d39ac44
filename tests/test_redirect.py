from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from tests.factories import CHROME, HOUR, make_application, make_job, make_link
from tracking import services, views
from tracking.clicks import capture as clickcapture
from tracking.models import JobApplication, LinkClick

pytestmark = pytest.mark.django_db

BROWSER_HEADERS: dict[str, Any] = {
    "HTTP_USER_AGENT": CHROME,
    "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9",
    "REMOTE_ADDR": "198.51.100.23",
}
DESTINATION = "https://linkedin.com/in/steve-glen"


def visit(client: Client, tracking_id: str, query: str = "", **headers: Any) -> Any:
    url = reverse("tracking:redirect", args=[tracking_id]) + (f"?{query}" if query else "")
    return client.get(url, **{**BROWSER_HEADERS, **headers})


def send_response(response: Any) -> None:
    """What the WSGI server does once it has written the response: close it. (As Django's test
    client does, keep the test's database connection open through ``request_finished``.)"""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


@pytest.fixture
def application() -> JobApplication:
    return make_application(make_job(title="Data Analyst", company_name="Fabrikam"))


# --- The redirect ---------------------------------------------------------------------------


def test_it_redirects_to_the_exact_destination_with_no_store_and_no_referrer() -> None:
    tracking_id = make_link(
        sent_ago=HOUR, original_url="https://calendly.com/steve-glen/30min?month=2026-11"
    ).tracking_id
    response = visit(Client(), tracking_id)
    assert response.status_code == 302
    assert response["Location"] == "https://calendly.com/steve-glen/30min?month=2026-11"
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"


def test_the_stored_row_has_every_field(application: JobApplication) -> None:
    tracking_id = make_link(sent_ago=HOUR, application_id=application.id).tracking_id
    before = timezone.now()
    visit(
        Client(),
        tracking_id,
        "utm_source=email&utm_medium=application&utm_campaign=fall",
        HTTP_REFERER="https://mail.google.com/mail/u/0/",
    )
    click = LinkClick.objects.get()
    assert click.tracking_id == tracking_id
    assert click.clicked_at is not None and before <= click.clicked_at <= timezone.now()
    assert click.ip_address == "198.51.100.23"
    assert click.user_agent == CHROME
    assert click.referrer_url == "https://mail.google.com/mail/u/0/"
    assert click.session_id and click.session_id.startswith("s_")
    assert click.click_source == "email"
    assert click.metadata == {
        "utm_source": "email",
        "utm_medium": "application",
        "utm_campaign": "fall",
    }
    assert click.http_method == "GET"
    assert click.classification == "human"
    assert click.classification_reasons == []
    assert (click.device_type, click.browser, click.os) == ("desktop", "Chrome", "Windows")


def test_the_session_cookie_is_set_once_and_reused() -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    client = Client()
    first = visit(client, tracking_id)
    cookie = first.cookies[clickcapture.SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
    assert cookie["path"] == "/track/"
    second = visit(client, tracking_id)
    assert clickcapture.SESSION_COOKIE not in second.cookies  # nothing new to set
    sessions = set(LinkClick.objects.values_list("session_id", flat=True))
    assert sessions == {cookie.value}


def test_the_session_cookie_is_secure_behind_https() -> None:
    response = visit(Client(), make_link(sent_ago=HOUR).tracking_id, secure=True)
    assert response.cookies[clickcapture.SESSION_COOKIE]["secure"]


def test_a_forged_session_cookie_is_replaced() -> None:
    client = Client()
    client.cookies[clickcapture.SESSION_COOKIE] = "<script>"
    response = visit(client, make_link(sent_ago=HOUR).tracking_id)
    new = response.cookies[clickcapture.SESSION_COOKIE].value
    assert new != "<script>"
    assert LinkClick.objects.get().session_id == new


@pytest.mark.parametrize(
    ("referrer", "query", "source"),
    [
        ("https://mail.google.com/", "", "email"),
        ("https://outlook.office.com/mail/", "", "email"),
        ("https://www.linkedin.com/feed/", "", "linkedin"),
        ("https://www.indeed.com/viewjob?jk=1", "", "indeed"),
        ("https://links.example.com/dashboard/", "", "dashboard"),
        ("https://blog.example.org/post", "", "external"),
        (None, "", "direct"),
        ("https://mail.google.com/", "src=newsletter", "newsletter"),
        ("https://mail.google.com/", "src=bad%20value!", "email"),
        ("https://mail.google.com/", "src=newsletter%0A", "email"),
    ],
)
def test_each_click_source_rule(referrer: str | None, query: str, source: str) -> None:
    headers = {"HTTP_REFERER": referrer} if referrer else {}
    visit(Client(), make_link(sent_ago=HOUR).tracking_id, query, **headers)
    assert LinkClick.objects.get().click_source == source


def test_the_query_string_never_changes_the_destination() -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    response = visit(
        Client(), tracking_id, "url=https://evil.example&next=https://evil.example&redirect=x"
    )
    assert response["Location"] == DESTINATION
    assert LinkClick.objects.get().metadata == {
        "url": "https://evil.example",
        "next": "https://evil.example",
        "redirect": "x",
    }


def test_query_metadata_is_bounded_in_count_and_size() -> None:
    params = "&".join(f"p{i}={'v' * 500}" for i in range(60))
    visit(Client(), make_link(sent_ago=HOUR).tracking_id, params)
    metadata = LinkClick.objects.get().metadata or {}
    assert 0 < len(metadata) <= clickcapture.QUERY_MAX_PARAMS
    assert all(len(value) <= clickcapture.QUERY_VALUE_MAX for value in metadata.values())


def test_a_url_with_more_parameters_than_django_parses_still_redirects() -> None:
    params = "&".join(f"p{i}=v" for i in range(1100))
    response = visit(Client(), make_link(sent_ago=HOUR).tracking_id, params)
    assert response.status_code == 302
    assert LinkClick.objects.get().metadata == {}


def test_a_huge_user_agent_and_a_broken_referrer_are_stored_truncated() -> None:
    huge_agent = "Mozilla/5.0 " + "A" * 10_000
    # WSGI servers pass header bytes through as latin-1: this is "\xff\xfe" in raw bytes.
    broken_referrer = "https://example.org/" + "\xff\xfe" + "x" * 2000
    response = visit(
        Client(),
        make_link(sent_ago=HOUR).tracking_id,
        HTTP_USER_AGENT=huge_agent,
        HTTP_REFERER=broken_referrer,
    )
    assert response.status_code == 302
    click = LinkClick.objects.get()
    assert click.user_agent == huge_agent[: services.USER_AGENT_MAX]
    assert click.referrer_url is not None
    assert len(click.referrer_url) == services.REFERRER_MAX
    assert click.referrer_url.startswith("https://example.org/\ufffd")


# --- Ids that do not lead anywhere ----------------------------------------------------------


@pytest.mark.parametrize(
    "junk", ["a" * 101, "bad$id", "semi;colon", "%00", "dots.dots", "lt_abc%0A", "l%C3%A9"]
)
def test_ids_that_cannot_exist_get_404_without_the_database(
    junk: str, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        response = Client().get(f"/track/{junk}", **BROWSER_HEADERS)
    assert response.status_code == 404


def test_an_unknown_id_gets_the_friendly_404_page_and_no_click() -> None:
    response = visit(Client(), "lt_doesnotexist0000")
    assert response.status_code == 404
    assert b"This link is not available" in response.content
    assert b"http" not in response.content.lower()  # no external URLs on the page
    assert response["Cache-Control"] == "no-store"
    assert not LinkClick.objects.exists()


def test_unknown_ids_are_remembered_so_a_flood_does_not_reach_the_database(
    django_assert_num_queries: Any,
) -> None:
    assert visit(Client(), "lt_unknown000000000").status_code == 404
    with django_assert_num_queries(0):
        assert visit(Client(), "lt_unknown000000000").status_code == 404


def test_a_link_created_after_its_id_was_tried_works_at_once() -> None:
    assert visit(Client(), "lt_sent_later").status_code == 404
    make_link(sent_ago=HOUR, tracking_id="lt_sent_later")
    assert visit(Client(), "lt_sent_later").status_code == 302


def test_an_inactive_link_gets_404_and_no_click() -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    services.set_link_active(tracking_id=tracking_id, is_active=False)
    response = visit(Client(), tracking_id)
    assert response.status_code == 404
    assert not LinkClick.objects.exists()


def test_reactivating_a_link_brings_the_redirect_back() -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    services.set_link_active(tracking_id=tracking_id, is_active=False)
    assert visit(Client(), tracking_id).status_code == 404
    services.set_link_active(tracking_id=tracking_id, is_active=True)
    assert visit(Client(), tracking_id).status_code == 302


def test_a_changed_destination_is_followed_at_once() -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    visit(Client(), tracking_id)  # warm the caches
    services.update_tracked_link(tracking_id=tracking_id, original_url="https://github.com/sg")
    assert visit(Client(), tracking_id)["Location"] == "https://github.com/sg"


def test_other_methods_are_not_allowed() -> None:
    response = Client().post(f"/track/{make_link(sent_ago=HOUR).tracking_id}")
    assert response.status_code == 405
    assert not LinkClick.objects.exists()


# --- Classification on the way in -----------------------------------------------------------


def test_a_head_request_is_answered_like_get_and_marked_as_scanner() -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    response = Client().head(f"/track/{tracking_id}", **BROWSER_HEADERS)
    assert response.status_code == 302
    assert response["Location"] == DESTINATION
    click = LinkClick.objects.get()
    assert click.http_method == "HEAD"
    assert click.classification == "scanner"
    assert "head_request" in (click.classification_reasons or [])


def test_a_crawler_is_classified_as_bot() -> None:
    visit(
        Client(),
        make_link(sent_ago=HOUR).tracking_id,
        HTTP_USER_AGENT="Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    )
    click = LinkClick.objects.get()
    assert click.classification == "bot"
    assert (click.classification_reasons or [])[0] == "crawler_agent"
    assert click.device_type == "bot"


def test_a_link_preview_agent_is_classified_as_preview() -> None:
    visit(
        Client(),
        make_link(sent_ago=HOUR).tracking_id,
        HTTP_USER_AGENT="LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    )
    click = LinkClick.objects.get()
    assert click.classification == "preview"
    assert "preview_agent" in (click.classification_reasons or [])


def test_a_click_right_after_the_link_was_created_is_a_scanner() -> None:
    link = services.create_tracked_link(
        original_url=DESTINATION, link_function="LinkedIn", link_type="profile"
    )
    visit(Client(), str(link["tracking_id"]))
    click = LinkClick.objects.get()
    assert click.classification == "scanner"
    assert click.classification_reasons == ["soon_after_creation"]


def test_a_click_from_microsoft_eop_is_a_scanner() -> None:
    visit(Client(), make_link(sent_ago=HOUR).tracking_id, REMOTE_ADDR="40.107.22.5")
    click = LinkClick.objects.get()
    assert (click.classification, click.classification_reasons) == (
        "scanner",
        ["scanner_network"],
    )


def test_links_of_one_application_opened_within_two_seconds_from_one_network_are_all_scanners(
    application: JobApplication,
) -> None:
    first = make_link(sent_ago=HOUR, application_id=application.id).tracking_id
    second = make_link(
        sent_ago=HOUR, application_id=application.id, original_url="https://github.com/sg"
    ).tracking_id
    unrelated = make_link(sent_ago=HOUR).tracking_id
    visit(Client(), first, REMOTE_ADDR="203.0.113.10")
    assert LinkClick.objects.get(tracking_id=first).classification == "human"
    visit(Client(), unrelated, REMOTE_ADDR="203.0.113.11")
    LinkClick.objects.update(clicked_at=timezone.now())  # however slow the machine: < 2 s apart
    visit(Client(), second, REMOTE_ADDR="203.0.113.77")  # same /24, another link
    by_link = {c.tracking_id: c for c in LinkClick.objects.all()}
    for tracking_id in (first, second):
        assert by_link[tracking_id].classification == "scanner"
        assert "burst" in (by_link[tracking_id].classification_reasons or [])
    assert by_link[unrelated].classification == "human"  # not a link of that application


def test_the_same_application_from_different_networks_is_not_a_burst(
    application: JobApplication,
) -> None:
    first = make_link(sent_ago=HOUR, application_id=application.id).tracking_id
    second = make_link(
        sent_ago=HOUR, application_id=application.id, original_url="https://github.com/sg"
    ).tracking_id
    visit(Client(), first, REMOTE_ADDR="203.0.113.10")
    visit(Client(), second, REMOTE_ADDR="198.51.100.10")
    assert set(LinkClick.objects.values_list("classification", flat=True)) == {"human"}


def test_clicks_more_than_two_seconds_apart_are_not_a_burst(application: JobApplication) -> None:
    first = make_link(sent_ago=HOUR, application_id=application.id).tracking_id
    second = make_link(
        sent_ago=HOUR, application_id=application.id, original_url="https://github.com/sg"
    ).tracking_id
    visit(Client(), first, REMOTE_ADDR="203.0.113.10")
    LinkClick.objects.update(clicked_at=timezone.now() - dt.timedelta(seconds=5))
    visit(Client(), second, REMOTE_ADDR="203.0.113.11")
    assert set(LinkClick.objects.values_list("classification", flat=True)) == {"human"}


# --- Privacy and client address -------------------------------------------------------------


@pytest.mark.parametrize("header", ["HTTP_DNT", "HTTP_SEC_GPC"])
def test_do_not_track_counts_and_classifies_but_stores_no_ip_agent_or_cookie(
    header: str,
) -> None:
    response = visit(
        Client(),
        make_link(sent_ago=HOUR).tracking_id,
        HTTP_USER_AGENT="Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        **{header: "1"},
    )
    assert response.status_code == 302
    assert clickcapture.SESSION_COOKIE not in response.cookies
    click = LinkClick.objects.get()
    assert (click.ip_address, click.user_agent, click.session_id) == (None, None, None)
    assert click.classification == "bot"


def test_do_not_track_is_ignored_when_not_respected(settings: Any) -> None:
    settings.RESPECT_DNT = False
    visit(Client(), make_link(sent_ago=HOUR).tracking_id, HTTP_DNT="1")
    click = LinkClick.objects.get()
    assert click.ip_address == "198.51.100.23" and click.session_id


def test_a_spoofed_forwarded_for_is_ignored_without_trusted_proxies() -> None:
    visit(
        Client(), make_link(sent_ago=HOUR).tracking_id, HTTP_X_FORWARDED_FOR="40.107.1.1, 1.2.3.4"
    )
    click = LinkClick.objects.get()
    assert click.ip_address == "198.51.100.23"
    assert click.classification == "human"


def test_behind_a_trusted_proxy_the_first_untrusted_hop_is_the_client(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.1"]
    visit(
        Client(),
        make_link(sent_ago=HOUR).tracking_id,
        REMOTE_ADDR="10.1.2.3",
        HTTP_X_FORWARDED_FOR="203.0.113.99, 198.51.100.5, 192.0.2.1",
    )
    assert LinkClick.objects.get().ip_address == "198.51.100.5"


def test_a_request_not_from_a_trusted_proxy_keeps_its_own_address(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    visit(Client(), make_link(sent_ago=HOUR).tracking_id, HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert LinkClick.objects.get().ip_address == "198.51.100.23"


def test_a_malformed_trusted_proxy_stops_the_start_up() -> None:
    env = {**os.environ, "SECRET_KEY": "x", "TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-c", "import linktrack.settings"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "TRUSTED_PROXIES must be IP addresses or CIDR networks" in result.stderr
    assert "proxy.internal" in result.stderr


# --- Query counts ---------------------------------------------------------------------------


def test_a_warm_redirect_makes_one_insert_and_no_select(django_assert_num_queries: Any) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    visit(Client(), tracking_id)  # warms the link caches
    with django_assert_num_queries(1) as captured:
        assert visit(Client(), tracking_id).status_code == 302
    assert captured.captured_queries[0]["sql"].startswith("INSERT")


def test_the_burst_rule_runs_only_after_the_response_is_sent(
    application: JobApplication, django_assert_num_queries: Any
) -> None:
    first = make_link(sent_ago=HOUR, application_id=application.id).tracking_id
    second = make_link(
        sent_ago=HOUR, application_id=application.id, original_url="https://github.com/sg"
    ).tracking_id
    visit(Client(), first)
    visit(Client(), second)  # warms the link cache (and is already a burst)
    LinkClick.objects.all().delete()
    visit(Client(), first)
    request = RequestFactory().get(f"/track/{second}", **BROWSER_HEADERS)
    with django_assert_num_queries(1) as in_view:
        response = views.redirect(request, second)
    assert response.status_code == 302
    assert in_view.captured_queries[0]["sql"].startswith("INSERT")
    assert LinkClick.objects.get(tracking_id=second).classification == "human"
    send_response(response)
    assert set(LinkClick.objects.values_list("classification", flat=True)) == {"scanner"}


@pytest.mark.redis
def test_with_a_shared_cache_a_lone_click_costs_no_query_after_the_response(
    application: JobApplication, django_assert_num_queries: Any
) -> None:
    tracking_id = make_link(sent_ago=HOUR, application_id=application.id).tracking_id
    visit(Client(), tracking_id)
    request = RequestFactory().get(f"/track/{tracking_id}", **BROWSER_HEADERS)
    response = views.redirect(request, tracking_id)
    with django_assert_num_queries(0):
        send_response(response)


def test_a_cold_redirect_reads_the_link_once_then_inserts(django_assert_num_queries: Any) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    with django_assert_num_queries(2) as captured:
        visit(Client(), tracking_id)
    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["SELECT", "INSERT"]
    assert uuid.UUID(str(LinkClick.objects.get().click_id)).version == 7


# --- Rate limit and cache outages -----------------------------------------------------------


@pytest.fixture
def fixed_rate_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every request of a test in one rate-limit window (no roll-over half-way through)."""
    monkeypatch.setattr("django_ratelimit.core._get_window", lambda value, period: 1_800_000_000)


@pytest.mark.usefixtures("fixed_rate_window")
def test_the_1001st_click_of_a_minute_is_redirected_but_not_stored() -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    client = Client()
    for _ in range(1000):
        assert visit(client, tracking_id).status_code == 302
    assert LinkClick.objects.count() == 1000
    response = visit(client, tracking_id)
    assert response.status_code == 302
    assert response["Location"] == DESTINATION
    assert LinkClick.objects.count() == 1000
    # Another visitor is not affected.
    visit(client, tracking_id, REMOTE_ADDR="198.51.100.24")
    assert LinkClick.objects.count() == 1001


@pytest.mark.usefixtures("fixed_rate_window")
def test_suppressed_clicks_are_counted_and_shown_by_health(settings: Any) -> None:
    settings.CLICK_RATE_LIMIT = "2/m"
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    for _ in range(5):
        assert visit(Client(), tracking_id).status_code == 302
    assert LinkClick.objects.count() == 2
    settings.HEALTH_TOKEN = "health-token-for-the-tests-0123456789"
    health = Client().get(reverse("tracking:health"), {"token": settings.HEALTH_TOKEN}).json()
    assert health["clicks"]["suppressed_by_rate_limit"] == 3


def test_with_redis_down_the_redirect_still_answers_and_stores_the_click(
    request: pytest.FixtureRequest,
) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    request.getfixturevalue("cache_down")
    for _ in range(3):
        response = visit(Client(), tracking_id)
        assert response.status_code == 302
        assert response["Location"] == DESTINATION
    assert LinkClick.objects.count() == 3


@pytest.mark.usefixtures("cache_down")
def test_with_redis_down_unknown_ids_still_get_404() -> None:
    assert visit(Client(), "lt_unknown000000000").status_code == 404
