from __future__ import annotations

import pytest
from django.core.management import CommandError
from django.test import override_settings

from tests.clickdata import make_click, make_link, run_command
from tracking.models import LinkClick, TrackedLink

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    return run_command("anonymize_clicks", *args)


@pytest.fixture
def link() -> TrackedLink:
    return make_link()


def test_it_removes_ip_and_visitor_hash_from_clicks_past_ip_retention_only(
    link: TrackedLink,
) -> None:
    old = make_click(link, days_ago=91, ip_address="203.0.113.7")
    older = make_click(link, days_ago=400, ip_address="2001:db8::1")
    young = make_click(link, days_ago=89, ip_address="198.51.100.9")

    output = run()

    assert "Anonymized 2 clicks" in output
    for click in (old, older):
        click.refresh_from_db()
        assert click.ip_address is None
        assert click.visitor_hash is None
        # What the analytics need stays: time, source, session, user agent, referrer.
        assert click.session_id == "sess_abc123"
        assert click.user_agent and click.user_agent.startswith("Mozilla/5.0")
        assert click.referrer_url == "https://mail.google.com/"
        assert click.click_source == "email"
    young.refresh_from_db()
    assert young.ip_address == "198.51.100.9"
    assert young.visitor_hash == "f" * 64


def test_it_anonymizes_a_click_that_kept_only_its_visitor_hash(link: TrackedLink) -> None:
    click = make_click(link, days_ago=100, ip_address=None)
    assert "Anonymized 1 clicks" in run()
    click.refresh_from_db()
    assert click.visitor_hash is None


def test_a_second_run_changes_nothing(link: TrackedLink) -> None:
    make_click(link, days_ago=120)
    run()
    assert "Anonymized 0 clicks" in run()


def test_dry_run_reports_the_count_and_changes_nothing(link: TrackedLink) -> None:
    old = make_click(link, days_ago=120)
    make_click(link, days_ago=1)

    output = run("--dry-run")

    assert "Would anonymize 1 clicks" in output
    old.refresh_from_db()
    assert old.ip_address == "203.0.113.7"


@override_settings(IP_RETENTION_DAYS=30)
def test_it_follows_ip_retention_days(link: TrackedLink) -> None:
    click = make_click(link, days_ago=31)
    assert "(30 days ago)" in run()
    click.refresh_from_db()
    assert click.ip_address is None


def test_days_option_overrides_the_setting(link: TrackedLink) -> None:
    click = make_click(link, days_ago=8)
    run("--days", "7")
    click.refresh_from_db()
    assert click.ip_address is None


def test_a_run_in_batches_reaches_every_old_click_and_shows_progress(link: TrackedLink) -> None:
    for _ in range(25):
        make_click(link, days_ago=200)
    make_click(link, days_ago=5)

    output = run("--batch-size", "10")

    assert "anonymized 10/25" in output and "anonymized 25/25" in output
    assert LinkClick.objects.filter(ip_address__isnull=False).count() == 1


@pytest.mark.parametrize("args", [("--days", "0"), ("--batch-size", "0")])
def test_it_rejects_nonsense_numbers(args: tuple[str, str]) -> None:
    with pytest.raises(CommandError, match="at least 1"):
        run(*args)
