from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from analytics import rollups
from analytics.models import MonthlyLinkSession, RollupState
from tests.factories import make_link, make_visitor_click
from tests.support import run_command
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db


def test_one_run_anonymizes_and_purges(on_postgres: bool) -> None:
    link = make_link()
    fresh = make_visitor_click(link, days_ago=1)
    aging = make_visitor_click(link, days_ago=100)
    make_visitor_click(link, days_ago=800)

    output = run_command("run_maintenance")

    assert "Anonymized 2 clicks" in output and "Deleted 1 clicks" in output
    assert set(LinkClick.objects.values_list("pk", flat=True)) == {fresh.pk, aging.pk}
    aging.refresh_from_db()
    fresh.refresh_from_db()
    assert aging.ip_address is None and fresh.ip_address == "203.0.113.7"
    assert ("analyze" in output.splitlines()) is on_postgres
    assert "Maintenance done." in output


def test_dry_run_changes_nothing() -> None:
    link = make_link()
    make_visitor_click(link, days_ago=100)
    make_visitor_click(link, days_ago=800)

    output = run_command("run_maintenance", "--dry-run")

    assert "Would anonymize 2 clicks" in output and "Would delete 1 clicks" in output
    assert LinkClick.objects.filter(ip_address__isnull=False).count() == 2


def test_the_rollups_reach_back_to_the_clicks_just_anonymized(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_visitor_click(make_link(), days_ago=130)
    make_visitor_click(make_link(), days_ago=800)
    call_command("rollup_clicks", stdout=StringIO())
    runs: list[dict[str, Any]] = []
    real_run = rollups.run

    def recording_run(**options: Any) -> rollups.RollupResult:
        runs.append(options)
        return real_run(**options)

    monkeypatch.setattr(rollups, "run", recording_run)

    run_command("run_maintenance")

    # One run after the anonymization, reaching back to its oldest click (totals unchanged, so
    # only the refresh window finds those days); one after the purge (its days' totals changed).
    assert [options.get("refresh_days", 2) >= 131 for options in runs] == [True, False]


def test_without_rollups_in_use_maintenance_builds_none() -> None:
    make_visitor_click(make_link(), days_ago=130)
    make_visitor_click(make_link(), days_ago=800)

    run_command("run_maintenance")

    assert not RollupState.objects.exists()


def test_no_session_cookie_outlives_its_click_in_the_rollups() -> None:
    link = make_link()
    make_visitor_click(link, days_ago=100, session_id="sess_old_cookie")
    call_command("rollup_clicks", stdout=StringIO())
    assert MonthlyLinkSession.objects.filter(session_id="sess_old_cookie").exists()

    run_command("run_maintenance")

    assert not MonthlyLinkSession.objects.filter(session_id="sess_old_cookie").exists()
    assert MonthlyLinkSession.objects.filter(session_id__startswith="anon-").exists()
