"""A job or an application without a link yet: every figure of its scope is zero, from the
rollups as from the raw clicks (its rollup rows are read by its links' ids on PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from analytics import counting, queries, rollups
from analytics.selection import Period, Scope, Selection
from tests.factories import (
    logged_in_client,
    make_application,
    make_job,
    make_link,
    make_tracking_staff,
    make_visitor_click,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("rolled_up", [False, True])
def test_a_job_and_an_application_without_links_count_nothing(
    noon: dt.datetime, rolled_up: bool
) -> None:
    job = make_job()
    application = make_application(make_job())
    make_visitor_click(make_link(), days_ago=3, session_id="s")  # another job's
    if rolled_up:
        rollups.run()
    for scope in (Scope(job_id=job.id), Scope(application_id=application.id)):
        selection = Selection(Period.for_days(30), scope)
        for key in (None, "day", "link_function", "tracking_id"):
            rows = counting.count_by(key, selection)
            assert sum(row["human_clicks"] + row["unique_sessions"] for row in rows.values()) == 0
    summary = queries.job_link_summary(job.id)
    assert summary is not None and summary["link_functions"] == []
    client = logged_in_client(make_tracking_staff())
    assert client.get(reverse("analytics:job-detail", args=[job.id])).status_code == 200
