"""Summarising outcomes again finds each batch's person clicks in ``link_clicks`` once, into a copy
(:mod:`analytics.outcome_clicks`), and reads from the copy exactly what it would read from
``link_clicks``: the first click, what people opened (A/B variants included) and the touches."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics import outcome_click_days, outcome_clicks, outcome_summaries
from analytics.attribution import lookback_setting, read_applications, read_person_clicks
from analytics.models import OutcomeClickDay
from tests.outcome_fixture import DAY, click, world
from tests.test_link_rules import PORTFOLIO_A, rule
from tracking import services
from tracking.models import JobApplication
from tracking.routing import ROUTED_KEY

pytestmark = pytest.mark.django_db
__all__ = ["world"]  # the fixture, used by name


def _reads_of_link_clicks(queries: list[dict[str, Any]]) -> int:
    return sum('"link_clicks"' in query["sql"] for query in queries)


def _with_a_variant_click(world: dict[str, Any]) -> None:
    """A person click on app1's LinkedIn link routed by an A/B variant, with UTM fields."""
    linkedin = world["links"][0]
    saved = services.replace_link_rules(
        tracking_id=linkedin.tracking_id,
        rules=[rule("ab_test", PORTFOLIO_A, weight=1, name="Portfolio A")],
    )
    click(
        linkedin,
        world["t0"] + 6 * DAY,
        metadata={ROUTED_KEY: str(saved[0].pk), "utm_source": "newsletter"},
    )


def test_each_batch_finds_its_clicks_in_link_clicks_once(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [application.pk for application in world["apps"]]
    monkeypatch.setattr(outcome_summaries, "BATCH", 2)
    with CaptureQueriesContext(connection) as queries:
        assert outcome_summaries.refresh(ids) == 4
    # Two batches of two: one copy each, where the seven reads each went to link_clicks.
    assert _reads_of_link_clicks(queries.captured_queries) == 2
    # The click days recorded with them are those read from link_clicks.
    recorded = set(OutcomeClickDay.objects.values_list("application_id", "day", "person_clicks"))
    OutcomeClickDay.objects.all().delete()
    outcome_click_days.record(ids)
    direct = set(OutcomeClickDay.objects.values_list("application_id", "day", "person_clicks"))
    assert recorded == direct and len(direct) == 4  # app1 on three days, app2 on one


def test_the_copy_gives_what_link_clicks_gives(world: dict[str, Any]) -> None:
    _with_a_variant_click(world)
    ids = [application.pk for application in world["apps"]]
    lookback = lookback_setting()
    direct = read_applications(JobApplication.objects.filter(pk__in=ids))
    read_person_clicks(direct, ids, lookback)
    copied = read_applications(JobApplication.objects.filter(pk__in=ids))
    with outcome_clicks.copied(ids) as clicks:
        assert clicks.count() == 5  # four person clicks of app1 after its sending, one of app2
        read_person_clicks(copied, ids, lookback, clicks=clicks)
    assert copied == direct
    app1 = direct[world["apps"][0].pk]
    assert app1.opened["variant"] == {"Portfolio A"}
    assert [touch.values["utm_source"] for touch in app1.touches] == ["", "", "", "newsletter"]
    assert app1.first_person_click == world["t0"] + DAY


def _copy_exists() -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT to_regclass('pg_temp.analytics_outcome_batch_clicks') IS NOT NULL"
            )
        else:
            cursor.execute(
                "SELECT count(*) > 0 FROM sqlite_temp_master"
                " WHERE name = 'analytics_outcome_batch_clicks'"
            )
        return bool(cursor.fetchone()[0])


def test_the_copy_is_gone_after_the_batch(world: dict[str, Any]) -> None:
    ids = [application.pk for application in world["apps"]]
    with outcome_clicks.copied(ids) as clicks:
        assert clicks.exists() and _copy_exists()
    assert not _copy_exists()
    with outcome_clicks.copied(ids[:1]) as clicks:  # a second copy takes the name again
        assert clicks.count() == 3
    assert not _copy_exists()
