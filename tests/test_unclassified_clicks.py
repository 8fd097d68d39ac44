"""Clicks another system stores with plain SQL (seed 000, query 2) carry no classification: they
count as unclassified, never as people, until the classification pass judges them."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from analytics import outcomes, queries, rollups
from analytics.models import DailyLinkClicks, OutcomeSummary
from analytics.selection import Period, Selection
from notifications import tasks
from tests.factories import (
    CHROME,
    key_client,
    logged_in_client,
    make_application,
    make_job,
    make_key,
    make_link,
    make_user,
)
from tests.outcome_fixture import link as outcome_link
from tests.outcome_fixture import world
from tests.support import run_command
from tracking.clicks import events, unclassified
from tracking.clicks.writer import ClickWriter
from tracking.models import Event, LinkClick, TrackedLink

pytestmark = pytest.mark.django_db
__all__ = ["world"]  # the fixture, used by name

# Seed 000, "Common Queries", 2. Record Click Event, verbatim but for the placeholders: a JSONB
# parameter needs its cast on PostgreSQL.
SEED_QUERY_2 = """
INSERT INTO link_clicks (
    tracking_id, clicked_at, ip_address, user_agent,
    referrer_url, session_id, click_source, metadata
) VALUES (%s, %s, %s, %s, %s, %s, %s, {metadata})
"""
CURL = "curl/8.0"


def insert_by_sql(
    tracking_id: str,
    *,
    clicked_at: dt.datetime,
    user_agent: str = CURL,
    ip_address: str = "198.51.100.23",
    session_id: str = "sess_sql",
) -> LinkClick:
    """One click as an external domain stores it: seed 000's query 2, no classification."""
    metadata = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    # Naive UTC, as a TIMESTAMP column takes it (docs/clicks.md: "write UTC").
    when = clicked_at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    with connection.cursor() as cursor:
        cursor.execute(
            SEED_QUERY_2.format(metadata=metadata),
            [
                tracking_id,
                when,
                ip_address,
                user_agent,
                "https://gmail.com",
                session_id,
                "email",
                json.dumps({"utm_source": "email"}),
            ],
        )
    return LinkClick.objects.get(tracking_id=tracking_id, session_id=session_id)


def sent_link(**fields: Any) -> TrackedLink:
    """A link sent a day ago (so a click now is not "soon after creation")."""
    link = make_link(**fields)
    TrackedLink.objects.filter(pk=link.pk).update(created_at=timezone.now() - dt.timedelta(days=1))
    return TrackedLink.objects.get(pk=link.pk)


def figures(link: TrackedLink) -> dict[str, Any]:
    result = queries.link_analytics(link.tracking_id, Selection(include_automated=True))
    assert result is not None
    stats = result["click_statistics"]
    return {
        name: stats[name]
        for name in (
            "total_clicks",
            "human_clicks",
            "automated_clicks",
            "unclassified_clicks",
            "by_classification",
        )
    }


def test_a_curl_click_stored_by_sql_is_unclassified_until_the_pass_calls_it_a_bot() -> None:
    link = sent_link()
    click = insert_by_sql(link.tracking_id, clicked_at=timezone.now() - dt.timedelta(minutes=2))
    assert click.classification is None

    assert figures(link) == {
        "total_clicks": 1,
        "human_clicks": 0,
        "automated_clicks": 0,
        "unclassified_clicks": 1,
        "by_classification": {"unclassified": 1},
    }
    people = queries.link_analytics(link.tracking_id, Selection())
    assert people is not None and people["click_statistics"]["total_clicks"] == 0

    assert unclassified.classify_unclassified() == 1

    click.refresh_from_db()
    assert click.classification == "bot"
    assert "tool_agent" in (click.classification_reasons or [])
    assert figures(link) == {
        "total_clicks": 1,
        "human_clicks": 0,
        "automated_clicks": 1,
        "unclassified_clicks": 0,
        "by_classification": {"bot": 1},
    }


def test_a_browser_click_stored_by_sql_becomes_a_person_only_once_classified() -> None:
    link = sent_link()
    click = insert_by_sql(
        link.tracking_id, clicked_at=timezone.now() - dt.timedelta(minutes=2), user_agent=CHROME
    )
    assert figures(link)["human_clicks"] == 0

    unclassified.classify_unclassified()

    click.refresh_from_db()
    assert (click.classification, click.browser, click.os) == ("human", "Chrome", "Windows")
    # Accept-Language is unknown for a plain-SQL row: unknown counts as sent, and stays unknown.
    assert click.has_accept_language is None
    assert figures(link)["human_clicks"] == 1


def test_a_second_pass_changes_nothing() -> None:
    link = sent_link()
    insert_by_sql(link.tracking_id, clicked_at=timezone.now() - dt.timedelta(minutes=2))
    assert unclassified.classify_unclassified() == 1
    before = list(LinkClick.objects.values_list("click_id", "classification", "device_type"))
    assert unclassified.classify_unclassified() == 0
    assert list(LinkClick.objects.values_list("click_id", "classification", "device_type")) == (
        before
    )


def test_a_pass_is_bounded_and_the_next_ones_finish_the_work() -> None:
    link = sent_link()
    for number in range(5):
        insert_by_sql(
            link.tracking_id,
            clicked_at=timezone.now() - dt.timedelta(minutes=10 - number),
            session_id=f"sess_{number}",
        )
    assert unclassified.classify_unclassified(limit=2, batch_size=1) == 2
    assert LinkClick.objects.filter(classification__isnull=True).count() == 3
    # The oldest first.
    judged = LinkClick.objects.filter(classification__isnull=False)
    assert set(judged.values_list("session_id", flat=True)) == {"sess_0", "sess_1"}
    assert unclassified.classify_unclassified(limit=10, batch_size=2) == 3
    assert not LinkClick.objects.filter(classification__isnull=True).exists()


def test_the_pass_applies_the_burst_rule_to_an_applications_links() -> None:
    application = make_application(make_job())
    first, second = (sent_link(application=application) for _ in range(2))
    at = timezone.now() - dt.timedelta(minutes=2)
    insert_by_sql(first.tracking_id, clicked_at=at, user_agent=CHROME, session_id="a")
    insert_by_sql(
        second.tracking_id,
        clicked_at=at + dt.timedelta(seconds=1),
        user_agent=CHROME,
        session_id="b",
    )
    unclassified.classify_unclassified()
    clicks = LinkClick.objects.all()
    assert {click.classification for click in clicks} == {"scanner"}
    assert all("burst" in (click.classification_reasons or []) for click in clicks)


def test_an_unclassified_click_announces_nobody_and_a_classified_person_is_announced() -> None:
    link = sent_link()
    insert_by_sql(
        link.tracking_id, clicked_at=timezone.now() - dt.timedelta(minutes=2), user_agent=CHROME
    )
    assert events.record_missed_events() == 0
    assert not Event.objects.exists()

    # The notifications worker's pass classifies first, then writes the person's events.
    done = tasks.run_pass()

    assert done["clicks_classified"] == 1
    assert Event.objects.filter(type="click.person").count() == 1


def test_the_click_writer_runs_the_pass() -> None:
    link = sent_link()
    insert_by_sql(link.tracking_id, clicked_at=timezone.now() - dt.timedelta(minutes=2))
    lines: list[str] = []
    writer = ClickWriter(report=lines.append)
    writer.step(block_ms=1)
    assert LinkClick.objects.get().classification == "bot"
    assert "classified 1 clicks stored without a classification" in lines
    # Not again before PASS_EVERY_SECONDS: the pass costs a query, the writer's loop is tight.
    insert_by_sql(
        link.tracking_id, clicked_at=timezone.now() - dt.timedelta(minutes=1), session_id="two"
    )
    writer.step(block_ms=1)
    assert LinkClick.objects.filter(classification__isnull=True).count() == 1


def test_run_maintenance_classifies_them_and_its_dry_run_only_counts() -> None:
    link = sent_link()
    insert_by_sql(link.tracking_id, clicked_at=timezone.now() - dt.timedelta(minutes=2))
    dry = run_command("run_maintenance", "--dry-run")
    assert "Would classify 1 of 1 clicks stored without a classification." in dry
    assert LinkClick.objects.get().classification is None
    output = run_command("run_maintenance")
    assert "Classified 1 of 1 clicks stored without a classification." in output
    assert LinkClick.objects.get().classification == "bot"


def test_the_rollups_count_an_old_sql_click_once_it_is_classified() -> None:
    link = make_link()
    TrackedLink.objects.filter(pk=link.pk).update(created_at=timezone.now() - dt.timedelta(days=60))
    old_day = timezone.now() - dt.timedelta(days=30)
    call_command("rollup_clicks", verbosity=0)
    insert_by_sql(link.tracking_id, clicked_at=old_day, user_agent=CHROME)
    last_40_days = Selection.of(
        start=timezone.now() - dt.timedelta(days=40), include_automated=True
    )

    # Read raw while unclassified, though its day is rolled up.
    totals = queries.click_totals(last_40_days)
    assert (totals["human_clicks"], totals["unclassified_clicks"]) == (0, 1)
    assert not DailyLinkClicks.objects.exists()

    unclassified.classify_unclassified()

    # The receiver rebuilt exactly that day: the person is in the rollups, and counted once.
    rolled = DailyLinkClicks.objects.get()
    assert (rolled.day, rolled.human_clicks) == (old_day.date(), 1)
    totals = queries.click_totals(last_40_days)
    assert (totals["total_clicks"], totals["human_clicks"], totals["unclassified_clicks"]) == (
        1,
        1,
        0,
    )


def test_a_fresh_sql_click_needs_no_rollup_run(monkeypatch: pytest.MonkeyPatch) -> None:
    call_command("rollup_clicks", verbosity=0)  # holds today until a few minutes ago
    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(rollups, "run", lambda **options: runs.append(options))
    link = sent_link()
    insert_by_sql(link.tracking_id, clicked_at=timezone.now() - dt.timedelta(seconds=30))
    assert unclassified.classify_unclassified() == 1
    assert runs == []  # after the rolled instant: read raw, as a classified click
    assert queries.click_totals(Selection(include_automated=True))["automated_clicks"] == 1


def test_the_api_reports_unclassified_clicks_apart_from_people() -> None:
    link = sent_link()
    insert_by_sql(
        link.tracking_id, clicked_at=timezone.now() - dt.timedelta(minutes=2), user_agent=CHROME
    )
    client = key_client(make_key())
    path = f"/api/link-tracking/analytics/{link.tracking_id}"
    stats = client.get(path).json()["click_statistics"]
    assert (stats["total_clicks"], stats["human_clicks"], stats["unclassified_clicks"]) == (1, 0, 1)
    people = client.get(path, {"include_automated": "false"}).json()["click_statistics"]
    assert people["total_clicks"] == 0


def test_the_admin_counts_an_unclassified_click_apart_from_people() -> None:
    link = sent_link()
    insert_by_sql(
        link.tracking_id, clicked_at=timezone.now() - dt.timedelta(minutes=2), user_agent=CHROME
    )
    client = logged_in_client(make_user(superuser=True))
    page = client.get(reverse("admin:tracking_trackedlink_change", args=[link.tracking_id]))
    assert "1 in all: 0 by people, 0 automated, 1 not classified yet" in page.content.decode()
    listing = client.get(reverse("admin:tracking_trackedlink_changelist")).content.decode()
    assert re.search(r'class="field-people">(<a [^>]*>)?0(</a>)?</td>', listing)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_passes_at_once_judge_each_click_once() -> None:
    """The writer and the worker may run the pass together: a click the one holds is skipped by
    the other (SKIP LOCKED), not waited for, and not judged twice."""
    link = sent_link()
    held = insert_by_sql(
        link.tracking_id, clicked_at=timezone.now() - dt.timedelta(minutes=3), session_id="held"
    )
    insert_by_sql(
        link.tracking_id, clicked_at=timezone.now() - dt.timedelta(minutes=2), session_id="free"
    )
    locked, release = threading.Event(), threading.Event()

    def hold_one() -> None:
        try:
            with transaction.atomic():
                LinkClick.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    other = threading.Thread(target=hold_one)
    other.start()
    try:
        assert locked.wait(10)
        assert unclassified.classify_unclassified() == 1
        assert LinkClick.objects.get(session_id="free").classification == "bot"
        assert LinkClick.objects.get(session_id="held").classification is None
    finally:
        release.set()
        other.join()
    assert unclassified.classify_unclassified() == 1
    assert not LinkClick.objects.filter(classification__isnull=True).exists()


def test_a_click_judged_a_person_reaches_the_outcome_summaries(world: dict[str, Any]) -> None:
    app4 = world["apps"][3]  # sent two days ago, no person click yet
    portfolio = outcome_link(app4, "Portfolio")
    TrackedLink.objects.filter(pk=portfolio.pk).update(
        created_at=timezone.now() - dt.timedelta(days=2)
    )
    call_command("rollup_clicks", verbosity=0)
    # Dated before the point the run covered: only the classification can tell the summaries.
    insert_by_sql(
        portfolio.tracking_id,
        clicked_at=timezone.now() - dt.timedelta(days=1),
        user_agent=CHROME,
    )
    before = outcomes.outcomes_report(Period.for_days(30))
    assert before["funnel"][1]["count"] == 2  # unclassified: not a person yet

    assert unclassified.classify_unclassified() == 1
    assert LinkClick.objects.get(tracking=portfolio).classification == "human"
    after = outcomes.outcomes_report(Period.for_days(30))
    assert after["funnel"][1]["count"] == 3
    OutcomeSummary.objects.all().delete()
    assert outcomes.outcomes_report(Period.for_days(30)) == after  # the raw clicks agree
