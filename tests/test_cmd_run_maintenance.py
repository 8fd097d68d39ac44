from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core import management
from django.core.management import call_command

from analytics.models import MonthlyLinkSession
from tests.factories import make_link, make_visitor_click
from tests.support import run_command
from tracking.management.commands import run_maintenance
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


def test_rollups_run_last_and_reach_back_to_the_clicks_just_anonymized(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_visitor_click(make_link(), days_ago=130)
    calls: list[tuple[str, dict[str, Any]]] = []

    def recording_call_command(name: str, *args: Any, **options: Any) -> None:
        calls.append((name, {k: v for k, v in options.items() if k == "refresh_days"}))
        if name != "rollup_clicks":
            management.call_command(name, *args, **options)

    monkeypatch.setattr(run_maintenance, "call_command", recording_call_command)
    monkeypatch.setattr(
        run_maintenance,
        "get_commands",
        lambda: {**management.get_commands(), "rollup_clicks": "analytics"},
    )

    run_command("run_maintenance")

    assert [name for name, _ in calls] == ["anonymize_clicks", "purge_clicks", "rollup_clicks"]
    assert calls[-1][1]["refresh_days"] >= 131


def test_no_session_cookie_outlives_its_click_in_the_rollups() -> None:
    link = make_link()
    make_visitor_click(link, days_ago=100, session_id="sess_old_cookie")
    call_command("rollup_clicks", stdout=StringIO())
    assert MonthlyLinkSession.objects.filter(session_id="sess_old_cookie").exists()

    run_command("run_maintenance")

    assert not MonthlyLinkSession.objects.filter(session_id="sess_old_cookie").exists()
    assert MonthlyLinkSession.objects.filter(session_id__startswith="anon-").exists()
