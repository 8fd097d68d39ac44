"""A link's month rows (MonthlyLinkClicks) sum its daily rows, and the pieces a period's per-link
sums are read in (sources.per_link_rows: whole months, a month less its other days, single days)
add up to the daily rows of that period, whichever months it covers."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from analytics import counting, sources
from analytics.models import DailyLinkClicks, MonthlyLinkClicks
from analytics.selection import EVERYTHING, Scope, Selection, local_tz
from tests.factories import build_click, make_clicks, make_job, make_link
from tracking.models import LinkClick, TrackedLink

pytestmark = pytest.mark.django_db

DAYS_BACK = 130  # over four months before today, and today's rolled part


def click_on_many_days(seed: int) -> list[TrackedLink]:
    """Three links of two jobs, clicked on random days of the last ``DAYS_BACK`` days."""
    rng = random.Random(seed)
    jobs = [make_job(title="Platform engineer"), make_job(title="Data engineer")]
    links = [
        make_link(job=jobs[i % 2], link_function=f)
        for i, f in enumerate(["LinkedIn", "GitHub", "Resume"])
    ]
    now = timezone.now()
    clicks = [
        build_click(
            rng.choice(links),
            classification=rng.choice(["human", "human", "bot", "scanner"]),
            clicked_at=now - dt.timedelta(days=rng.uniform(0, DAYS_BACK), minutes=10),
        )
        for _ in range(400)
    ]
    make_clicks(clicks)
    return links


def daily_sums(first: dt.date | None, end: dt.date, scope: Scope) -> Counter[tuple[str, str]]:
    rows = sources.rolled(DailyLinkClicks, (first, end), scope)
    sums: Counter[tuple[str, str]] = Counter()
    for tracking_id, h, a in rows.values_list("tracking_id").annotate(
        h=Sum("human_clicks"), a=Sum("automated_clicks")
    ):
        sums[(tracking_id, "h")] += h
        sums[(tracking_id, "a")] += a
    return +sums


def piece_sums(first: dt.date | None, end: dt.date, held: dt.date, scope: Scope) -> Counter:
    sums: Counter[tuple[str, str]] = Counter()
    for rows, sign in sources.per_link_rows((first, end), held, scope):
        for tracking_id, h, a in rows.values_list("tracking_id").annotate(
            h=Sum("human_clicks"), a=Sum("automated_clicks")
        ):
            sums[(tracking_id, "h")] += sign * h
            sums[(tracking_id, "a")] += sign * a
    return +sums


def month_rows_match_days() -> None:
    by_month: Counter[tuple[dt.date, str, str]] = Counter()
    for day, tracking_id, h, a in DailyLinkClicks.objects.values_list(
        "day", "tracking_id", "human_clicks", "automated_clicks"
    ):
        by_month[(day.replace(day=1), tracking_id, "h")] += h
        by_month[(day.replace(day=1), tracking_id, "a")] += a
    stored: Counter[tuple[dt.date, str, str]] = Counter()
    for month, tracking_id, h, a in MonthlyLinkClicks.objects.values_list(
        "month", "tracking_id", "human_clicks", "automated_clicks"
    ):
        stored[(month, tracking_id, "h")] += h
        stored[(month, tracking_id, "a")] += a
    assert +stored == +by_month
    assert by_month  # the clicks were rolled up at all


def test_every_period_reads_the_same_sums_from_its_pieces() -> None:
    links = click_on_many_days(seed=3)
    call_command("rollup_clicks", verbosity=0)
    month_rows_match_days()
    held = sources.split(None, None).held_until
    assert held is not None
    today = timezone.now().astimezone(local_tz()).date()
    oldest = today - dt.timedelta(days=DAYS_BACK + 1)
    # Firsts of months, their neighbours, mid-months and the open start; ends likewise and the
    # rollups' end (the month rows hold up to it).
    days = {oldest + dt.timedelta(days=n) for n in range(0, DAYS_BACK + 2, 9)}
    for month_first in {day.replace(day=1) for day in days}:
        days |= {
            month_first,
            month_first + dt.timedelta(days=1),
            month_first - dt.timedelta(days=1),
        }
    days = {day for day in days if oldest <= day <= held}
    for scope in (EVERYTHING, Scope(job_id=links[0].job_id)):
        for first in [None, *sorted(days)]:
            for end in sorted({*days, held}):
                if first is not None and first >= end:
                    continue
                assert piece_sums(first, end, held, scope) == daily_sums(first, end, scope), (
                    first,
                    end,
                )


def test_thirty_days_ending_today_read_one_month_row_per_link_for_this_month() -> None:
    click_on_many_days(seed=4)
    call_command("rollup_clicks", verbosity=0)
    held = sources.split(None, None).held_until
    assert held is not None
    first = held - dt.timedelta(days=30)
    pieces = sources.per_link_rows((first, held), held, EVERYTHING)
    month_pieces = [rows for rows, _ in pieces if rows.model is MonthlyLinkClicks]
    assert month_pieces  # this month, from its first day to the rollups' end
    assert all(sign == 1 for _, sign in pieces if _.model is MonthlyLinkClicks)


def test_month_rows_follow_late_removed_and_new_clicks() -> None:
    links = click_on_many_days(seed=5)
    call_command("rollup_clicks", verbosity=0)
    # A late click dated months ago (found by the totals check), clicks removed, today's clicks.
    old = timezone.now() - dt.timedelta(days=100)
    make_clicks([build_click(links[1], classification="human", clicked_at=old)])
    victims = list(LinkClick.objects.order_by("clicked_at").values_list("pk", flat=True)[:40])
    LinkClick.objects.filter(pk__in=victims).delete()
    recent = timezone.now() - dt.timedelta(hours=1)
    make_clicks([build_click(links[2], classification="bot", clicked_at=recent)])
    call_command("rollup_clicks", verbosity=0)
    month_rows_match_days()


def test_counts_and_top_links_over_months_equal_those_of_the_raw_clicks() -> None:
    links = click_on_many_days(seed=6)
    make_link(job=links[0].job)  # never clicked: listed nowhere
    # Clicked on the first day of this month only: a period starting later this month reads the
    # month row less that day, which nets to nothing for it.
    early = make_link(job=links[0].job)
    now = timezone.now()
    first_of_month = now.astimezone(local_tz()).replace(day=1, hour=0, minute=30)
    if first_of_month < now - dt.timedelta(hours=1):
        make_clicks([build_click(early, classification="human", clicked_at=first_of_month)])
    selections = [
        Selection.of(start=now - dt.timedelta(days=days), include_automated=True, job_id=job_id)
        for days in (7, 20, 30, 45, 90, 120)
        for job_id in (None, links[0].job_id)
    ]

    def figures() -> list[tuple[dict, list]]:
        return [
            (
                counting.count_by("tracking_id", selection, sessions=False),
                counting.top_by("tracking_id", selection, 10),
            )
            for selection in selections
        ]

    raw = figures()
    call_command("rollup_clicks", verbosity=0)
    assert MonthlyLinkClicks.objects.exists()
    assert figures() == raw
