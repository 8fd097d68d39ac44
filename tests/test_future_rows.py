"""Rows dated in the future (a SQL writer storing local time in the seed's zone-less TIMESTAMP
columns) are counted by `/track/health` and reported by `run_maintenance`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.factories import make_link, make_visitor_click
from tests.support import run_command
from tracking.models import LinkClick, TrackedLink

pytestmark = pytest.mark.django_db


TOKEN = "health-token-for-the-tests-0123456789"


@pytest.fixture(autouse=True)
def _health_token(settings: Any) -> None:
    settings.HEALTH_TOKEN = TOKEN  # the report's details are for monitors holding the token


def health() -> Any:
    return Client().get("/track/health", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


def shift(model: type[LinkClick] | type[TrackedLink], field: str, pk: Any, **delta: float) -> None:
    """Move a row's time as a writer with the wrong zone would have stored it."""
    model.objects.filter(pk=pk).update(**{field: timezone.now() + dt.timedelta(**delta)})


def test_health_counts_clicks_and_links_dated_in_the_future() -> None:
    link = make_link()
    shift(LinkClick, "clicked_at", make_visitor_click(link).pk, hours=2)
    shift(LinkClick, "clicked_at", make_visitor_click(link).pk, hours=5)
    make_visitor_click(link)
    shift(TrackedLink, "created_at", make_link().pk, hours=2)

    response = health()

    assert response.status_code == 200  # bad data is reported, the service stays in
    data = response.json()["data"]
    assert data["status"] == "ok"
    assert (data["future_clicks"], data["future_links"]) == (2, 1)
    assert "write UTC" in data["warning"]


def test_health_allows_the_clock_skew_the_api_accepts(settings: object) -> None:
    link = make_link()
    shift(LinkClick, "clicked_at", make_visitor_click(link).pk, seconds=60)

    data = health().json()["data"]

    assert data == {"status": "ok", "future_clicks": 0, "future_links": 0}


def test_maintenance_reports_rows_dated_in_the_future() -> None:
    link = make_link()
    shift(LinkClick, "clicked_at", make_visitor_click(link).pk, hours=3)

    output = run_command("run_maintenance")

    assert "1 clicks and 0 links are dated more than 300 s in the future" in output
    assert "write UTC" in output


def test_maintenance_says_nothing_about_future_rows_when_there_are_none() -> None:
    make_visitor_click(make_link())
    assert "in the future" not in run_command("run_maintenance")


@pytest.mark.postgres
def test_a_sql_writer_sending_an_offset_is_caught() -> None:
    """PostgreSQL drops the offset of a literal cast to TIMESTAMP: local time is stored as is."""
    link = make_link()
    local = timezone.now().astimezone(dt.timezone(dt.timedelta(hours=5)))
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO link_clicks (tracking_id, clicked_at, click_source) "
            "VALUES (%s, %s::timestamp, 'email')",
            [link.tracking_id, local.isoformat()],
        )
    data = health().json()["data"]
    assert data["future_clicks"] == 1
