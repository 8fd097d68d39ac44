from __future__ import annotations

import pytest
from django.core.management import CommandError
from django.test import override_settings

from analytics.selection import Selection
from tests.factories import make_link, make_visitor_click
from tests.support import run_command
from tracking.models import LinkClick, TrackedLink

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    return run_command("purge_clicks", *args)


@pytest.fixture
def link() -> TrackedLink:
    return make_link()


def test_it_deletes_clicks_past_retention_and_keeps_the_young_ones(link: TrackedLink) -> None:
    make_visitor_click(link, days_ago=731)
    make_visitor_click(link, days_ago=2000)
    young = [make_visitor_click(link, days_ago=729), make_visitor_click(link, days_ago=0)]

    output = run()

    assert "Deleted 2 clicks" in output
    assert set(LinkClick.objects.values_list("pk", flat=True)) == {c.pk for c in young}
    assert TrackedLink.objects.filter(pk=link.pk).exists()


def test_a_second_run_deletes_nothing(link: TrackedLink) -> None:
    make_visitor_click(link, days_ago=800)
    run()
    assert "Deleted 0 clicks" in run()


def test_dry_run_reports_the_count_and_deletes_nothing(link: TrackedLink) -> None:
    make_visitor_click(link, days_ago=800)
    make_visitor_click(link, days_ago=3)
    assert "Would delete 1 clicks" in run("--dry-run")
    assert LinkClick.objects.count() == 2


@override_settings(CLICK_RETENTION_DAYS=365)
def test_it_follows_click_retention_days(link: TrackedLink) -> None:
    make_visitor_click(link, days_ago=366)
    kept = make_visitor_click(link, days_ago=364)
    run()
    assert list(LinkClick.objects.values_list("pk", flat=True)) == [kept.pk]


def test_a_run_in_batches_deletes_every_old_click_and_shows_progress(link: TrackedLink) -> None:
    for _ in range(12):
        make_visitor_click(link, days_ago=900)
    kept = make_visitor_click(link, days_ago=10)

    output = run("--batch-size", "5")

    assert "deleted 5/12" in output and "deleted 12/12" in output
    assert list(LinkClick.objects.values_list("pk", flat=True)) == [kept.pk]


def test_it_rejects_zero_days() -> None:
    with pytest.raises(CommandError, match="--days must be at least 1"):
        run("--days", "0")


def test_purged_clicks_leave_the_analytics_rollups_at_once(link: TrackedLink) -> None:
    from django.core.management import call_command

    from analytics import queries
    from analytics.models import MonthlyLinkSession

    # Stored by plain SQL and never classified: its session id must leave the rollups too.
    make_visitor_click(link, days_ago=800, session_id="sess_purged", classification=None)
    make_visitor_click(link, days_ago=3, session_id="sess_kept")
    call_command("rollup_clicks", verbosity=0)
    assert MonthlyLinkSession.objects.filter(session_id="sess_purged").exists()

    run()

    assert not MonthlyLinkSession.objects.filter(session_id="sess_purged").exists()
    totals = queries.click_totals(
        Selection.of(tracking_id=link.tracking_id, include_automated=True)
    )
    assert (totals["total_clicks"], totals["unique_sessions"]) == (1, 1)
