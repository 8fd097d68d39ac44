"""The activity feed (/dashboard/activity/) and the overview's latest person clicks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from analytics import views
from tracking import services
from tracking.models import Job, JobApplication, LinkClick, TrackedLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="x"))
    return client


@pytest.fixture
def link() -> TrackedLink:
    job = Job.objects.create(title="Data Analyst", company_name="Fabrikam")
    application = JobApplication.objects.create(job=job)
    created = services.create_tracked_link(
        original_url="https://example.org/portfolio",
        link_function="Portfolio",
        link_type="profile",
        job_id=job.id,
        application_id=application.id,
    )
    return TrackedLink.objects.get(pk=created["tracking_id"])


def click(
    link: TrackedLink,
    *,
    minutes_ago: float,
    classification: str = "human",
    reasons: list[str] | None = None,
    source: str | None = None,
) -> LinkClick:
    built = services.build_click(
        tracking_id=link.tracking_id,
        clicked_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
        referrer_url="https://mail.google.com/",
        click_source=source,
    )
    built.country_code = "NL"  # what the geo lookup stores
    built.classification = classification
    built.classification_reasons = reasons or []
    built.device_type = "desktop"
    services.insert_clicks([built])
    return built


def test_the_feed_lists_person_clicks_newest_first_with_their_context(
    staff: Client, link: TrackedLink
) -> None:
    older = click(link, minutes_ago=30)
    newer = click(link, minutes_ago=2)
    click(link, minutes_ago=1, classification="scanner", reasons=["head_request"])
    click(link, minutes_ago=1, source="dashboard")  # the owner's own click
    body = staff.get("/dashboard/activity.json").json()
    assert [row["click_id"] for row in body["rows"]] == [str(newer.pk), str(older.pk)]
    row = body["rows"][0]
    assert row["job"]["title"] == "Data Analyst"
    assert row["job"]["company"] == "Fabrikam"
    assert row["link_function"] == "Portfolio"
    assert row["source"] == "email"
    assert row["country"] == "NL"
    assert row["device"] == "desktop"
    assert row["application_id"] == str(link.application_id)
    assert (body["page"], body["has_next"], body["has_previous"]) == (1, False, False)


def test_the_toggle_adds_automated_clicks_with_their_reasons(
    staff: Client, link: TrackedLink
) -> None:
    click(link, minutes_ago=3)
    click(link, minutes_ago=1, classification="scanner", reasons=["head_request"])
    rows = staff.get("/dashboard/activity.json?automated=1").json()["rows"]
    assert [(row["person"], row["reasons"]) for row in rows] == [
        (False, ["head_request"]),
        (True, []),
    ]
    page = staff.get("/dashboard/activity/?automated=1").content.decode()
    assert "head_request" in page
    assert "Email scanner" in page


def test_the_feed_is_paginated(
    staff: Client, link: TrackedLink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "ACTIVITY_PAGE_SIZE", 2)
    made = [click(link, minutes_ago=minute) for minute in range(5)]
    first = staff.get("/dashboard/activity.json").json()
    third = staff.get("/dashboard/activity.json?page=3").json()
    assert [row["click_id"] for row in first["rows"]] == [str(c.pk) for c in made[:2]]
    assert first["has_next"] is True
    assert [row["click_id"] for row in third["rows"]] == [str(made[4].pk)]
    assert (third["has_next"], third["has_previous"]) == (False, True)
    assert staff.get("/dashboard/activity.json?page=junk").json()["page"] == 1


def test_the_page_loads_its_script_and_no_inline_script(staff: Client, link: TrackedLink) -> None:
    click(link, minutes_ago=1)
    response = staff.get("/dashboard/activity/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "/static/js/activity.js" in html
    assert 'data-url="/dashboard/activity.json"' in html
    assert "<script>" not in html
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "Data Analyst" in html


def test_the_overview_shows_the_five_latest_person_clicks(staff: Client, link: TrackedLink) -> None:
    for minute in range(7):
        click(link, minutes_ago=minute + 1)
    click(link, minutes_ago=0.5, classification="bot", reasons=["crawler_agent"])
    html = staff.get("/dashboard/").content.decode()
    section = html.split("data-latest-people", 1)[1].split("</section>", 1)[0]
    assert section.count("<time ") == 5
    assert "/dashboard/activity/" in section
