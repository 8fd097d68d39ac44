"""Distinct sessions over every link, estimated from the rollups' daily sketches when they are many
(analytics.sketches, analytics.session_sketches); exact counts everywhere else."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from analytics import counting, queries, rollups, sketches
from analytics.models import DailyScopeSessions, DailySessionSketch, ScopeKind, SketchKind
from analytics.selection import Period, Selection
from analytics.session_sketches import _unpacked
from tests.factories import (
    logged_in_client,
    make_application,
    make_job,
    make_link,
    make_tracking_staff,
    make_visitor_click,
)
from tracking.models import LinkClick

# --- The sketch itself ----------------------------------------------------------------------


def test_an_estimate_of_many_sessions_is_within_three_standard_errors() -> None:
    for count in (1_000, 30_000):
        estimate = sketches.estimate(sketches.of(f"session-{i}" for i in range(count)))
        assert abs(estimate / count - 1) < 3 * sketches.RELATIVE_ERROR, (count, estimate)


def test_a_few_sessions_are_counted_as_they_are() -> None:
    assert sketches.estimate(sketches.EMPTY) == 0
    assert sketches.estimate(sketches.of(["a", "b", "c", "a"])) == 3


def test_the_union_of_two_sketches_is_the_sketch_of_both_sets() -> None:
    first = [f"s{i}" for i in range(0, 3000)]
    second = [f"s{i}" for i in range(2000, 6000)]
    both = sketches.union([sketches.of(first), sketches.of(second)])
    assert both == sketches.of(first + second)
    rng = random.Random(7)
    for _ in range(50):  # the register-wise maximum, registers from 0 to 53 (the highest rank)
        a, b = (bytes(rng.randrange(54) for _ in range(sketches.REGISTERS)) for _ in range(2))
        assert sketches.union([a, b]) == bytes(map(max, a, b))
    with pytest.raises(ValueError, match="registers"):
        sketches.union([sketches.EMPTY, b"\x00" * 10])


# --- Built by the rollups -------------------------------------------------------------------


@pytest.fixture
def clicks(noon: dt.datetime) -> dict[str, object]:
    """Sessions over two jobs, two link functions and five days, people's and a scanner's."""
    job_a, job_b = make_job(), make_job()
    linkedin_a = make_link(job=job_a, application=make_application(job_a), link_function="LinkedIn")
    resume_a = make_link(job=job_a, link_function="Resume")
    linkedin_b = make_link(job=job_b, link_function="LinkedIn")
    unattached = make_link(link_function="GitHub")
    for days_ago, link, session in [
        (4, linkedin_a, "s1"),
        (4, resume_a, "s1"),
        (3, linkedin_a, "s2"),
        (3, linkedin_b, "s2"),
        (2, resume_a, "s3"),
        (2, linkedin_b, "s4"),
        (1, unattached, "s5"),
        (1, linkedin_a, "s1"),
        (0.3, resume_a, "s6"),  # today, rolled up
    ]:
        make_visitor_click(link, days_ago=days_ago, session_id=session)
    make_visitor_click(linkedin_b, days_ago=2, session_id="bot", classification="scanner")
    return {"job_a": job_a.id, "job_b": job_b.id}


def exact_and_estimated(key: str | None, **selection: object) -> tuple[dict, dict]:
    """``count_by(key)`` over the last 7 days, counted exactly, then from the sketches."""
    period = Period.for_days(7)
    chosen = Selection(period, Selection.of().scope, bool(selection.get("include_automated")))
    exact = counting.count_by(key, chosen)
    with override_settings(ANALYTICS_EXACT_SESSIONS_UP_TO=0):
        estimated = counting.count_by(key, chosen)
    return exact, estimated


@pytest.mark.django_db
def test_a_days_sketch_counts_that_days_sessions(clicks: dict[str, object]) -> None:
    rollups.run()
    every_link = DailySessionSketch.objects.filter(kind=SketchKind.ALL, human=True)
    assert every_link.count() == 5  # four past days and today's rolled part
    for row in every_link:
        exact = DailyScopeSessions.objects.get(kind=ScopeKind.ALL, day=row.day).human_sessions
        assert sketches.estimate(_unpacked(row.registers)) == exact
    scanner = DailySessionSketch.objects.get(kind=SketchKind.ALL, human=False)
    assert sketches.estimate(_unpacked(scanner.registers)) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("key", [None, "link_function", "job_id"])
@pytest.mark.parametrize("include_automated", [False, True])
def test_estimates_over_every_link_equal_the_exact_counts_of_a_few_sessions(
    clicks: dict[str, object], key: str | None, include_automated: bool
) -> None:
    rollups.run()
    # A session after the rollup run: read raw, and added to the rolled days' sketches.
    make_visitor_click(LinkClick.objects.earliest("clicked_at").tracking, session_id="s_raw")
    exact, estimated = exact_and_estimated(key, include_automated=include_automated)
    assert {k: row["unique_sessions"] for k, row in estimated.items()} == {
        k: row["unique_sessions"] for k, row in exact.items()
    }
    assert all(row.get("unique_sessions_estimated") for row in estimated.values())
    assert not any("unique_sessions_estimated" in row for row in exact.values())


@pytest.mark.django_db
def test_a_rebuilt_day_drops_the_sessions_no_longer_clicked(clicks: dict[str, object]) -> None:
    rollups.run()
    assert exact_and_estimated(None)[1][None]["unique_sessions"] == 6
    LinkClick.objects.filter(session_id="s4").delete()  # the day's totals change: rebuilt
    rollups.run()
    exact, estimated = exact_and_estimated(None)
    assert estimated[None]["unique_sessions"] == exact[None]["unique_sessions"] == 5


@pytest.mark.django_db
def test_a_jobs_or_a_links_sessions_are_always_exact(clicks: dict[str, object]) -> None:
    rollups.run()
    with override_settings(ANALYTICS_EXACT_SESSIONS_UP_TO=0):
        job = counting.count_by(None, Selection.of(job_id=clicks["job_a"]))
        per_day = counting.count_by("day", Selection(Period.for_days(7)))
    assert job[None]["unique_sessions"] == 4  # s1, s2, s3 and s6
    assert "unique_sessions_estimated" not in job[None]
    assert not any("unique_sessions_estimated" in row for row in per_day.values())


@pytest.mark.django_db
def test_the_overview_says_which_figures_are_estimates(clicks: dict[str, object]) -> None:
    rollups.run()
    selection = Selection(Period.for_days(7))
    assert "unique_sessions_estimated" not in queries.overview_totals(selection)
    with override_settings(ANALYTICS_EXACT_SESSIONS_UP_TO=0):
        totals = queries.overview_totals(selection)
        jobs = queries.top_jobs(selection)
    assert totals["unique_sessions"] == 6
    assert totals["unique_sessions_estimated"] is True
    assert {row["job_id"]: row["unique_sessions"] for row in jobs} == {
        str(clicks["job_a"]): 4,
        str(clicks["job_b"]): 2,
    }
    assert all(row["unique_sessions_estimated"] for row in jobs)


@pytest.mark.django_db
def test_the_dashboard_marks_estimated_sessions(clicks: dict[str, object]) -> None:
    rollups.run()
    client = logged_in_client(make_tracking_staff())
    url = reverse("analytics:overview") + "?days=7"
    exact = client.get(url).content.decode()
    cache.clear()  # the figures of the request above, cached briefly
    with override_settings(ANALYTICS_EXACT_SESSIONS_UP_TO=0):
        estimated = client.get(url).content.decode()
    assert "(estimate)" not in exact
    assert "≈" not in exact
    assert "Unique sessions <abbr" in estimated
    assert "(estimate)</abbr>" in estimated
    assert estimated.count("≈</abbr>") == 2  # the two jobs' rows
