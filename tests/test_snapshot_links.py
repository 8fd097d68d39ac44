"""Within one snapshot on PostgreSQL, a scope's link ids are looked up once however many rollup
tables a figure reads by them (sources.linked), and each snapshot looks them up again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics import counting, rollups
from analytics.selection import Period, Scope, Selection
from tests.factories import make_job, make_link, make_visitor_click

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LOOKUP = 'SELECT "link_tracking"."tracking_id" AS "tracking_id" FROM "link_tracking" WHERE'


def test_a_scopes_links_are_looked_up_once_per_snapshot(noon: dt.datetime) -> None:
    job = make_job()
    links = [make_link(job=job), make_link(job=job)]
    make_visitor_click(links[0], days_ago=3, session_id="s1")
    make_visitor_click(links[1], days_ago=40, session_id="s2")
    rollups.run()
    selection = Selection(Period.for_days(90), Scope(job_id=job.id))
    with CaptureQueriesContext(connection) as captured:
        rows = counting.count_by_keys([None, "link_function", "tracking_id"], selection)
    lookups = [query for query in captured.captured_queries if query["sql"].startswith(LOOKUP)]
    assert len(lookups) == 1
    assert rows[None][None]["human_clicks"] == 2
    assert {k for k, row in rows["tracking_id"].items() if row["human_clicks"]} == {
        link.tracking_id for link in links
    }
    # A new link of the job counts in the next snapshot.
    later = make_link(job=job)
    make_visitor_click(later, days_ago=2, session_id="s3")
    rollups.run()
    again = counting.count_by(None, selection)
    assert again[None]["human_clicks"] == 3
