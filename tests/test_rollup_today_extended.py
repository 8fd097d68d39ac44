"""A run extends today's rolled part by the links clicked since the last run
(rollups._links_clicked_since): the rows it leaves are those a whole build of today gives. A click
stored late into the part already rolled up changes its totals, and today is built whole."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from analytics import rollups
from analytics.models import DailyLinkClicks, RollupState
from analytics.selection import local_midnight, today
from tests.factories import make_job, make_link, make_visitor_click
from tracking.models import TrackedLink

pytestmark = pytest.mark.django_db


def every_row() -> dict[str, list[tuple[str, ...]]]:
    return {
        model.__name__: sorted(
            # PostgreSQL gives the sketches' bytes as a memoryview.
            tuple(str(bytes(value) if isinstance(value, memoryview) else value) for value in row)
            for row in model.objects.values_list(
                *(f.attname for f in model._meta.concrete_fields if not f.primary_key)
            )
        )
        for model in rollups.ROLLUP_MODELS
    }


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[dt.datetime]:
    """The time the rollups see: today's local noon, moved on by each test."""
    at = [local_midnight(today()) + dt.timedelta(hours=12)]
    monkeypatch.setattr(timezone, "now", lambda: at[0])
    return at


def at(hours: float) -> dt.datetime:
    return local_midnight(today()) + dt.timedelta(hours=hours)


def click(link: TrackedLink, hours: float, session: str | None, **extra: object) -> None:
    days_ago = (timezone.now() - at(hours)) / dt.timedelta(days=1)
    make_visitor_click(link, days_ago=days_ago, session_id=session, **extra)


def a_morning_of_clicks() -> list[TrackedLink]:
    """Three links of two jobs (two of one application), clicked this morning and yesterday."""
    job, other = make_job(), make_job()
    links = [make_link(job=job), make_link(job=job), make_link(job=other)]
    click(links[0], 9, "a", click_source="email", country_code="DE")
    click(links[1], 9.5, "a", classification="scanner")
    click(links[2], 10, "b", browser="Firefox")
    click(links[0], 11, None, classification=None)  # not judged yet
    click(links[2], -10, "c")  # yesterday
    return links


def test_clicks_since_the_last_run_extend_today_as_a_whole_build_would(
    clock: list[dt.datetime],
) -> None:
    links = a_morning_of_clicks()
    rollups.run()
    clock[0] = at(13.5)
    # After the instant the last run rolled today up to (noon less the lag).
    click(links[0], 12.5, "d", click_source="linkedin")
    click(links[1], 12.6, "a")  # a session already seen this morning, on the same job
    click(links[0], 12.7, "e", classification=None)
    until = clock[0] - dt.timedelta(seconds=settings.ANALYTICS_ROLLUP_LAG_SECONDS)
    state = RollupState.objects.get(pk=1)
    clicked = {links[0].tracking_id, links[1].tracking_id}
    assert rollups._links_clicked_since(state, today(), until) == clicked
    rollups.run()
    extended = every_row()
    rollups.run(whole_today=True)
    assert every_row() == extended
    assert extended["DailyLinkClicks"]


def test_a_run_with_no_click_since_changes_nothing(clock: list[dt.datetime]) -> None:
    a_morning_of_clicks()
    rollups.run()
    before = every_row()
    clock[0] = at(12.2)
    until = clock[0] - dt.timedelta(seconds=settings.ANALYTICS_ROLLUP_LAG_SECONDS)
    assert rollups._links_clicked_since(RollupState.objects.get(pk=1), today(), until) == set()
    rollups.run()
    assert every_row() == before


def test_a_click_stored_late_into_the_rolled_part_has_today_built_whole(
    clock: list[dt.datetime],
) -> None:
    links = a_morning_of_clicks()
    rollups.run()
    click(links[2], 10.5, "f")  # stored now, dated before the instant already rolled up
    clock[0] = at(13)
    until = clock[0] - dt.timedelta(seconds=settings.ANALYTICS_ROLLUP_LAG_SECONDS)
    assert rollups._links_clicked_since(RollupState.objects.get(pk=1), today(), until) is None
    rollups.run()
    late = every_row()
    assert (
        DailyLinkClicks.objects.get(day=today(), tracking_id=links[2].tracking_id).human_clicks == 2
    )
    rollups.run(whole_today=True)
    assert every_row() == late


def test_asked_to_refresh_days_a_run_builds_today_whole(clock: list[dt.datetime]) -> None:
    links = a_morning_of_clicks()
    rollups.run()
    # Rows of a link not clicked since, lost: only a whole build of today brings them back.
    DailyLinkClicks.objects.filter(day=today(), tracking_id=links[2].tracking_id).delete()
    clock[0] = at(12.5)
    rollups.run(refresh_days=1)
    assert DailyLinkClicks.objects.filter(day=today(), tracking_id=links[2].tracking_id).exists()
