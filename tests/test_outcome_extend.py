"""Outcome summaries extended with the clicks made since they were built
(:mod:`analytics.outcome_extend`) hold what a rebuild from every click holds, row for row; the
summaries that may not be extended are rebuilt."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.utils import timezone

from analytics import outcome_extend, outcome_summaries, rollups
from analytics.models import OutcomeClickDay, OutcomeSummary, OutcomeValue
from tests.outcome_fixture import DAY, click, link, world
from tests.test_link_rules import PORTFOLIO_A, rule
from tracking import services
from tracking.models import ApplicationStatusHistory, LinkClick
from tracking.routing import ROUTED_KEY

pytestmark = pytest.mark.django_db
__all__ = ["world"]  # the fixture, used by name


def rows() -> dict[str, set[tuple[Any, ...]]]:
    """Every summary row, but when it was built."""
    return {
        "summaries": set(
            OutcomeSummary.objects.values_list(
                "application_id", "basis", "first_person_click", "sent_at", "responded_at"
            )
        ),
        "values": set(
            OutcomeValue.objects.values_list(
                "application_id",
                "stage",
                "dimension",
                "value",
                "reached_interview",
                "first_touch",
                "last_touch",
                "linear",
                "time_decay",
                "position_based",
                "sent_at",
            )
        ),
        "click days": set(
            OutcomeClickDay.objects.values_list(
                "application_id", "day", "person_clicks", "id_sum_a", "id_sum_b"
            )
        ),
    }


def as_rebuilt() -> dict[str, set[tuple[Any, ...]]]:
    """The rows a rebuild of every summary from the clicks writes."""
    outcome_summaries.refresh()
    return rows()


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """``world`` with an A/B variant on app1's LinkedIn link, rolled up once (a full run); then
    a function making an incremental run that tells which summaries it extended."""
    extended: list[set[uuid.UUID]] = []
    real = outcome_extend.extend

    def spy(outcomes: dict[uuid.UUID, Any]) -> int:
        extended.append(set(outcomes))
        return real(outcomes)

    monkeypatch.setattr(outcome_extend, "extend", spy)

    def incremental() -> set[uuid.UUID]:
        extended.clear()
        result = rollups.run()
        assert not result.full_rebuild
        return set().union(*extended)

    return {"incremental": incremental}


@pytest.fixture
def built(world: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    linkedin = world["links"][0]
    saved = services.replace_link_rules(
        tracking_id=linkedin.tracking_id,
        rules=[rule("ab_test", PORTFOLIO_A, weight=1, name="Portfolio A")],
    )
    assert rollups.run().full_rebuild
    return {**world, **run, "rule": saved[0]}


def test_new_clicks_extend_the_summaries_as_a_rebuild_would(built: dict[str, Any]) -> None:
    app1, app2, app3, _app4 = built["apps"]
    linkedin, resume, github = built["links"]
    portfolio = link(app3, "Portfolio")  # app3's first link
    now = timezone.now()
    click(linkedin, now, click_source="direct", metadata={ROUTED_KEY: str(built["rule"].pk)})
    click(resume, now, click_source="email")  # nothing new for app1 but the click itself
    click(github, now, click_source="linkedin", metadata={"utm_campaign": "autumn"})
    click(portfolio, now)  # app3's first person click
    click(github, now, classification="scanner")  # not a person: changes nothing
    assert built["incremental"]() == {app1.pk, app2.pk, app3.pk}
    extended = rows()
    assert any(row[:2] == (app3.pk, "opened") for row in extended["values"])  # its first
    assert extended == as_rebuilt()
    # Nothing new since: no summary built or extended again.
    assert built["incremental"]() == set()
    assert rollups.run().outcome_applications == 0


def test_a_late_click_dated_before_the_summary_is_rebuilt(built: dict[str, Any]) -> None:
    app1, app2 = built["apps"][:2]
    linkedin, _resume, github = built["links"]
    built_at = OutcomeSummary.objects.get(application_id=app1.pk).built_at
    click(linkedin, built_at - dt.timedelta(seconds=1), click_source="direct")  # stored late
    click(github, timezone.now(), click_source="direct")
    assert built["incremental"]() == {app2.pk}
    assert rows() == as_rebuilt()


def test_a_click_gone_and_a_new_one_rebuild_the_summary(built: dict[str, Any]) -> None:
    app1 = built["apps"][0]
    linkedin = built["links"][0]
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    earlier = max(today, OutcomeSummary.objects.get(application_id=app1.pk).built_at - DAY)
    click(linkedin, earlier + dt.timedelta(seconds=1), click_source="linkedin")
    assert rollups.run().outcome_applications == 1  # dated before its summary: rebuilt
    LinkClick.objects.filter(tracking=linkedin, click_source="linkedin").delete()
    click(linkedin, timezone.now(), click_source="direct")
    assert built["incremental"]() == set()
    assert rows() == as_rebuilt()


def test_a_stage_dated_after_the_summary_rebuilds_it(built: dict[str, Any]) -> None:
    # An interview dated tomorrow (written around the service, which refuses a future date):
    # today's clicks come before it and earn its credit.
    app2 = built["apps"][1]
    github = built["links"][2]
    services.change_application_status(application_id=app2.pk, status="interviewed")
    ApplicationStatusHistory.objects.filter(application=app2, to_status="interviewed").update(
        changed_at=timezone.now() + DAY
    )
    assert rollups.run().outcome_applications == 1  # another basis: rebuilt
    click(github, timezone.now(), click_source="direct")
    assert built["incremental"]() == set()
    assert rows() == as_rebuilt()
    credited = OutcomeValue.objects.filter(application_id=app2.pk, stage="interview")
    assert ("click_source", "direct") in set(credited.values_list("dimension", "value"))
