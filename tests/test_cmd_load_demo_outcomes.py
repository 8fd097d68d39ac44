"""The demo's applications tell an outcomes story: clicks follow sendings, some people answer."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import F

from analytics import outcomes
from analytics.selection import Period
from tracking.models import ApplicationStatusHistory, JobApplication, LinkClick

pytestmark = pytest.mark.django_db


def test_the_demo_has_plausible_timelines() -> None:
    call_command("load_demo", stdout=None)
    early = LinkClick.objects.filter(
        tracking__application__submitted_at__isnull=False,
        clicked_at__lt=F("tracking__application__submitted_at"),
    )
    assert not early.exists()
    # Every application has a history that starts at its sending.
    for application in JobApplication.objects.all():
        first = ApplicationStatusHistory.objects.filter(application=application).earliest(
            "changed_at"
        )
        assert (first.from_status, first.changed_at) == ("", application.submitted_at)
    report = outcomes.outcomes_report(Period.for_days(60))
    counts = {row["stage"]: row["count"] for row in report["funnel"]}
    assert counts["applications"] > counts["opened"] > counts["responded"] > counts["interview"] > 0
    assert report["follow_up"] or counts["applications"] > counts["opened"]
    credited = sum(row["credit"] for row in report["attribution"]["link_function"])
    # Every interview after a person click within the window is credited exactly once.
    assert 0 < credited <= counts["interview"]
