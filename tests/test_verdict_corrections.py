"""Correcting a click's verdict: "this was a person" / "this was a machine", from the dashboard
(activity, application and link pages) and from the admin; the correction wins in every count and
survives re-judging."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.db.models import Sum
from django.test import Client
from django.urls import reverse

from analytics.models import DailyLinkClicks
from tests.factories import (
    ALL_SCOPES,
    CHROME,
    key_client,
    logged_in_client,
    make_application,
    make_key,
    make_link,
    make_tracking_staff,
    make_user,
    make_visitor_click,
)
from tests.support import run_command
from tracking.clicks import burst
from tracking.models import JobApplication, LinkClick, TrackedLink

pytestmark = pytest.mark.django_db

# Real agents: a scanner's headless browser and a person's Firefox.
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.6099.109 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0"


@pytest.fixture
def application() -> JobApplication:
    return make_application()


@pytest.fixture
def link(application: JobApplication) -> TrackedLink:
    return make_link(application=application, job=application.job, sent_ago=dt.timedelta(days=3))


@pytest.fixture
def staff() -> Client:
    return logged_in_client(make_tracking_staff("ann"))


def stored(
    link: TrackedLink, classification: str, reasons: list[str], **fields: object
) -> LinkClick:
    click = make_visitor_click(link, days_ago=1, **fields)
    LinkClick.objects.filter(pk=click.pk).update(
        classification=classification, classification_reasons=reasons
    )
    return LinkClick.objects.get(pk=click.pk)


def correct(client: Client, click: LinkClick, verdict: str, **extra: str) -> Any:
    url = reverse("analytics:click-verdict", args=[click.pk])
    return client.post(url, {"verdict": verdict, **extra})


def test_this_was_a_person_counts_a_scanned_click_as_a_person_and_keeps_the_automatic_reasons(
    staff: Client, link: TrackedLink
) -> None:
    scanned = stored(link, "scanner", ["no_accept_language"], user_agent=FIREFOX)
    response = correct(staff, scanned, "person", next="/dashboard/activity/?automated=1")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/activity/?automated=1"
    scanned.refresh_from_db()
    assert scanned.classification == "human"
    assert scanned.classification_correction == "person"
    assert scanned.corrected_by == "user:ann"
    assert scanned.corrected_at is not None
    assert scanned.classification_reasons == ["no_accept_language"]


def test_this_was_a_machine_makes_a_person_click_a_bot_and_undo_restores_it(
    staff: Client, link: TrackedLink
) -> None:
    person = stored(link, "human", [], user_agent=CHROME)
    correct(staff, person, "machine")
    person.refresh_from_db()
    assert (person.classification, person.classification_correction) == ("bot", "machine")
    correct(staff, person, "automatic")
    person.refresh_from_db()
    assert person.classification == "human"
    assert person.classification_correction is None and person.corrected_by is None


def test_machine_keeps_the_automatic_class_when_it_already_was_a_machine(
    staff: Client, link: TrackedLink
) -> None:
    scanned = stored(link, "scanner", ["head_request"])
    correct(staff, scanned, "machine")
    scanned.refresh_from_db()
    assert scanned.classification == "scanner"
    assert scanned.classification_correction == "machine"


def test_the_correction_wins_in_the_dashboard_the_api_and_the_csv(
    staff: Client, link: TrackedLink
) -> None:
    scanned = stored(link, "scanner", ["head_request"])
    stored(link, "human", [])
    correct(staff, scanned, "person")
    # The API's link analytics.
    body = key_client(make_key(ALL_SCOPES)).get(f"/api/link-tracking/analytics/{link.pk}").json()
    assert body["click_statistics"]["human_clicks"] == 2
    corrected = [c for c in body["click_timeline"] if c["click_id"] == str(scanned.pk)]
    assert corrected[0]["classification_correction"] == "person"
    # The dashboard's link page and its CSV export.
    page = staff.get(reverse("analytics:link-detail", args=[link.pk])).content.decode()
    assert "corrected by you" in page
    # Its form offers the other verdict and the undo; the other click's, the other verdict only.
    assert page.count('data-verdict="automatic"') == 1
    assert page.count('data-verdict="machine"') == 2
    response = staff.get(f"{reverse('analytics:export-csv')}?link={link.pk}")
    export = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(export)))
    assert [row["classification"] for row in rows] == ["human", "human"]


def test_the_rollups_follow_a_correction(
    staff: Client, link: TrackedLink, django_capture_on_commit_callbacks: Any
) -> None:
    person = stored(link, "human", [])
    call_command("rollup_clicks", verbosity=0)
    with django_capture_on_commit_callbacks(execute=True):
        correct(staff, person, "machine")
    totals = DailyLinkClicks.objects.aggregate(h=Sum("human_clicks"), a=Sum("automated_clicks"))
    assert totals == {"h": 0, "a": 1}


def test_a_correction_survives_reclassify_clicks(staff: Client, link: TrackedLink) -> None:
    # A real tool agent that today's rules make a bot; the job seeker says it was a person.
    tool = stored(link, "human", [], user_agent="curl/8.5.0")
    correct(staff, tool, "person")
    run_command("reclassify_clicks")
    tool.refresh_from_db()
    assert tool.classification == "human"
    assert "tool_agent" in (tool.classification_reasons or [])
    assert tool.classification_correction == "person"


def test_the_burst_rule_does_not_overturn_a_correction(
    staff: Client, application: JobApplication
) -> None:
    first = make_link(application=application, sent_ago=dt.timedelta(days=3))
    second = make_link(application=application, sent_ago=dt.timedelta(days=3))
    one = stored(first, "human", [], ip_address="203.0.113.7")
    correct(staff, one, "person")
    other = stored(second, "human", [], ip_address="203.0.113.9", clicked_at=one.clicked_at)
    assert other.clicked_at is not None
    burst.reclassify_burst(
        click_id=other.pk,
        tracking_id=second.pk,
        application_id=str(application.pk),
        network="203.0.113.0/24",
        clicked_at=other.clicked_at,
    )
    one.refresh_from_db()
    other.refresh_from_db()
    assert other.classification == "scanner"
    assert one.classification == "human" and "burst" in (one.classification_reasons or [])


@pytest.mark.parametrize(
    ("verdict", "status", "named"),
    [("maybe", 400, "verdict"), ("", 400, "verdict")],
)
def test_a_bad_verdict_gets_a_4xx_naming_it(
    staff: Client, link: TrackedLink, verdict: str, status: int, named: str
) -> None:
    click = stored(link, "human", [])
    response = correct(staff, click, verdict)
    assert response.status_code == status
    assert named in response.content.decode()
    json = staff.post(
        reverse("analytics:click-verdict", args=[click.pk]),
        {"verdict": verdict},
        HTTP_ACCEPT="application/json",
    )
    assert json.json()["field"] == "verdict"
    click.refresh_from_db()
    assert click.classification_correction is None


def test_unknown_clicks_get_bad_methods_and_missing_rights_are_refused(
    staff: Client, link: TrackedLink
) -> None:
    click = stored(link, "human", [])
    url = reverse("analytics:click-verdict", args=[click.pk])
    missing = reverse("analytics:click-verdict", args=["00000000-0000-0000-0000-000000000001"])
    assert staff.post(missing, {"verdict": "person"}).status_code == 404
    assert staff.get(url).status_code == 405
    viewer = make_user("viewer")
    assert logged_in_client(viewer).post(url, {"verdict": "person"}).status_code == 403
    assert Client().post(url, {"verdict": "person"}).status_code == 302  # to the login page
    click.refresh_from_db()
    assert click.classification_correction is None


def test_a_post_without_the_csrf_token_is_refused(link: TrackedLink) -> None:
    click = stored(link, "human", [])
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_superuser("root", password="x"))
    url = reverse("analytics:click-verdict", args=[click.pk])
    response = client.post(url, {"verdict": "machine"})
    assert response.status_code == 403
    assert "CSRF" in response.content.decode()


def test_a_foreign_next_is_not_followed(staff: Client, link: TrackedLink) -> None:
    click = stored(link, "human", [])
    response = correct(staff, click, "machine", next="https://evil.example/")
    assert response["Location"] == reverse("analytics:activity")


def test_the_pages_offer_the_one_click_correction(
    staff: Client, link: TrackedLink, application: JobApplication
) -> None:
    person = stored(link, "human", [], user_agent=CHROME)
    scanned = stored(link, "scanner", ["head_request"])
    action = reverse("analytics:click-verdict", args=[person.pk])
    for url in (
        "/dashboard/activity/?automated=1",
        reverse("analytics:application-detail", args=[application.pk]),
        reverse("analytics:link-detail", args=[link.pk]) + "?automated=1",
    ):
        page = staff.get(url).content.decode()
        assert f'action="{action}"' in page, url
        assert 'value="machine"' in page and 'value="person"' in page, url
        assert "csrfmiddlewaretoken" in page, url
    correct(staff, scanned, "person")
    feed = staff.get("/dashboard/activity.json?automated=1").json()["rows"]
    row = next(row for row in feed if row["click_id"] == str(scanned.pk))
    assert (row["verdict"], row["classification_correction"]) == ("human", "person")
    assert row["corrected_by"] == "user:ann"
    assert "corrected by you" in staff.get("/dashboard/activity/").content.decode()


def test_a_viewer_without_the_right_sees_no_correction_form(link: TrackedLink) -> None:
    stored(link, "human", [])
    viewer = make_user("viewer")
    viewer.user_permissions.set(
        Permission.objects.filter(codename__in=["view_trackedlink", "view_job"])
    )
    page = logged_in_client(viewer).get("/dashboard/activity/").content.decode()
    assert "data-verdict-form" not in page


# --- The admin ------------------------------------------------------------------------------


def test_the_admin_click_page_shows_the_reasons_in_words_and_corrects_in_one_click(
    admin_client: Client, link: TrackedLink
) -> None:
    scanned = stored(link, "scanner", ["head_request", "soon_after_creation"])
    page_url = reverse("admin:tracking_linkclick_change", args=[scanned.pk])
    page = admin_client.get(page_url).content.decode()
    assert "HEAD request: a link checker, not a browser" in page
    assert "Opened within 10 s of the link&#x27;s creation" in page
    action = reverse("admin:tracking_linkclick_verdict", args=[scanned.pk])
    assert f'formaction="{action}"' in page and 'value="person"' in page
    response = admin_client.post(action, {"verdict": "person"})
    assert response.status_code == 302
    scanned.refresh_from_db()
    assert scanned.classification == "human" and scanned.corrected_by == "user:admin"
    page = admin_client.get(page_url).content.decode()
    assert "This was a person (corrected by admin" in page
    assert admin_client.post(action, {"verdict": "x"}).status_code == 400


def test_the_admin_list_shows_reasons_and_corrects_the_selected_clicks(
    admin_client: Client, link: TrackedLink
) -> None:
    first = stored(link, "human", [])
    second = stored(link, "scanner", ["empty_user_agent"])
    listing = admin_client.get(reverse("admin:tracking_linkclick_changelist")).content.decode()
    assert "empty_user_agent" in listing
    admin_client.post(
        reverse("admin:tracking_linkclick_changelist"),
        {"action": "mark_machine", "_selected_action": [str(first.pk), str(second.pk)]},
    )
    assert set(LinkClick.objects.values_list("classification", flat=True)) == {"bot", "scanner"}
    assert LinkClick.objects.filter(classification_correction="machine").count() == 2
