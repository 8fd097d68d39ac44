from __future__ import annotations

from typing import Any

import pytest
from django.core import management

from tests.clickdata import make_click, make_link, run_command
from tracking.management.commands import run_maintenance
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db


def test_one_run_anonymizes_and_purges(on_postgres: bool) -> None:
    link = make_link()
    fresh = make_click(link, days_ago=1)
    aging = make_click(link, days_ago=100)
    make_click(link, days_ago=800)

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
    make_click(link, days_ago=100)
    make_click(link, days_ago=800)

    output = run_command("run_maintenance", "--dry-run")

    assert "Would anonymize 2 clicks" in output and "Would delete 1 clicks" in output
    assert LinkClick.objects.filter(ip_address__isnull=False).count() == 2


def test_rollups_run_after_anonymizing_and_before_the_purge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    def recording_call_command(name: str, *args: Any, **options: Any) -> None:
        calls.append(name)
        if name != "rollup_clicks":
            management.call_command(name, *args, **options)

    monkeypatch.setattr(run_maintenance, "call_command", recording_call_command)
    monkeypatch.setattr(
        run_maintenance,
        "get_commands",
        lambda: {**management.get_commands(), "rollup_clicks": "analytics"},
    )

    run_command("run_maintenance")

    assert calls == ["anonymize_clicks", "rollup_clicks", "purge_clicks"]
