"""Seed 000's anonymized view: IP addresses only for clicks younger than 90 days; the country and
region (which anonymisation keeps) for every click."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection
from django.db.migrations.state import ProjectState

from tests.factories import make_link, make_visitor_click

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

seed_migration = importlib.import_module("tracking.migrations.0003_link_analytics_view")
migration = importlib.import_module("tracking.migrations.0009_company_network")


def view_rows() -> dict[str, tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT session_id, v.tracking_id, v.click_source, host(v.ip_address) "
            "FROM link_analytics_view v JOIN link_clicks c USING (tracking_id, clicked_at)"
        )
        return {row[0]: row[1:] for row in cursor.fetchall()}


def view_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('link_analytics_view') IS NOT NULL")
        return bool(cursor.fetchone()[0])


def test_it_shows_the_ip_of_recent_clicks_and_hides_it_after_90_days() -> None:
    link = make_link()
    make_visitor_click(link, days_ago=89, ip_address="203.0.113.7", session_id="young")
    make_visitor_click(link, days_ago=91, ip_address="198.51.100.9", session_id="old")

    rows = view_rows()

    assert rows["young"] == (link.pk, "email", "203.0.113.7")
    assert rows["old"] == (link.pk, "email", None)


def test_the_90_days_are_counted_in_utc_whatever_the_sessions_time_zone() -> None:
    link = make_link()
    # 89 days and 22 hours old: still inside the 90 days. A bare NOW() read in a session at UTC+14
    # would move the boundary 14 hours and hide this address.
    make_visitor_click(link, days_ago=90 - 2 / 24, ip_address="203.0.113.7", session_id="edge")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL TIME ZONE 'Pacific/Kiritimati'")

    assert view_rows()["edge"][2] == "203.0.113.7"


SEED_COLUMNS = ["tracking_id", "clicked_at", "click_source", "ip_address"]


def view_columns() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM link_analytics_view LIMIT 0")
        return [col.name for col in cursor.description]


def test_it_has_the_seeds_columns_first_then_the_country_and_region() -> None:
    assert view_columns() == [*SEED_COLUMNS, "country_code", "region"]


def test_it_shows_country_and_region_of_anonymised_clicks_but_no_city() -> None:
    link = make_link()
    make_visitor_click(
        link,
        days_ago=120,
        ip_address=None,
        session_id="anonymised",
        country_code="DE",
        region="Berlin",
        city=None,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT host(ip_address), country_code, region FROM link_analytics_view")
        assert cursor.fetchall() == [(None, "DE", "Berlin")]


def test_the_migrations_can_be_reversed_and_applied_again() -> None:
    apps = ProjectState().apps
    with connection.schema_editor() as editor:
        migration.restore_seed_view(apps, editor)
        assert view_columns() == SEED_COLUMNS
        seed_migration.drop_view(apps, editor)
        assert not view_exists()
        seed_migration.create_view(apps, editor)
        migration.create_view(apps, editor)
    assert view_columns() == [*SEED_COLUMNS, "country_code", "region"]
