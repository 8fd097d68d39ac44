from __future__ import annotations

import pytest
from django.core.management import CommandError
from django.test import override_settings

from tests.factories import make_link, make_visitor_click
from tests.support import run_command
from tracking.models import LinkClick, TrackedLink

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    return run_command("anonymize_clicks", *args)


@pytest.fixture
def link() -> TrackedLink:
    return make_link()


def test_it_anonymizes_clicks_past_ip_retention_and_leaves_younger_ones(link: TrackedLink) -> None:
    old = make_visitor_click(link, days_ago=91, ip_address="203.0.113.7")
    older = make_visitor_click(link, days_ago=400, ip_address="2001:db8::1")
    young = make_visitor_click(link, days_ago=89, ip_address="198.51.100.9")

    output = run()

    assert "Anonymized 2 clicks" in output
    for click in (old, older):
        click.refresh_from_db()
        assert click.ip_address is None
        assert click.visitor_hash is None
        assert click.session_id and click.session_id.startswith("anon-")
        # What the analytics need stays: time, source, user agent, referrer.
        assert click.user_agent and click.user_agent.startswith("Mozilla/5.0")
        assert click.referrer_url == "https://mail.google.com/"
        assert click.click_source == "email"
    young.refresh_from_db()
    assert young.ip_address == "198.51.100.9"
    assert young.visitor_hash == "f" * 64
    assert young.session_id == "sess_abc123"


def test_clicks_anonymized_together_keep_their_sessions_apart_and_together(
    link: TrackedLink,
) -> None:
    first = [make_visitor_click(link, days_ago=100, session_id="sess_a") for _ in range(2)]
    second = make_visitor_click(link, days_ago=100, session_id="sess_b")

    run("--batch-size", "1")

    pseudonyms = {
        c.pk: c.session_id
        for c in LinkClick.objects.filter(pk__in=[c.pk for c in (*first, second)])
    }
    assert pseudonyms[first[0].pk] == pseudonyms[first[1].pk] != pseudonyms[second.pk]


def test_an_anonymized_click_cannot_be_tied_to_the_same_cookie_later(link: TrackedLink) -> None:
    earlier = make_visitor_click(link, days_ago=150, session_id="sess_a")
    run()
    later = make_visitor_click(link, days_ago=120, session_id="sess_a")
    run()
    earlier.refresh_from_db()
    later.refresh_from_db()
    assert earlier.session_id != later.session_id
    assert "sess_a" not in (earlier.session_id or "") + (later.session_id or "")


@pytest.mark.parametrize("kept", [{"ip_address": None}, {"ip_address": None, "visitor_hash": None}])
def test_it_anonymizes_a_click_holding_any_identifying_value(
    link: TrackedLink, kept: dict[str, None]
) -> None:
    click = make_visitor_click(link, days_ago=100, **kept)  # type: ignore[arg-type]
    assert "Anonymized 1 clicks" in run()
    click.refresh_from_db()
    assert click.visitor_hash is None
    assert click.session_id and click.session_id.startswith("anon-")


def test_a_second_run_changes_nothing(link: TrackedLink) -> None:
    make_visitor_click(link, days_ago=120)
    run()
    assert "Anonymized 0 clicks" in run()


def test_dry_run_reports_the_count_and_changes_nothing(link: TrackedLink) -> None:
    old = make_visitor_click(link, days_ago=120)
    make_visitor_click(link, days_ago=1)

    output = run("--dry-run")

    assert "Would anonymize 1 clicks" in output
    old.refresh_from_db()
    assert old.ip_address == "203.0.113.7"


@override_settings(IP_RETENTION_DAYS=30)
def test_it_follows_ip_retention_days(link: TrackedLink) -> None:
    click = make_visitor_click(link, days_ago=31)
    assert "(30 days ago)" in run()
    click.refresh_from_db()
    assert click.ip_address is None


def test_days_option_overrides_the_setting(link: TrackedLink) -> None:
    click = make_visitor_click(link, days_ago=8)
    run("--days", "7")
    click.refresh_from_db()
    assert click.ip_address is None


def test_a_run_in_batches_reaches_every_old_click_and_shows_progress(link: TrackedLink) -> None:
    for _ in range(25):
        make_visitor_click(link, days_ago=200)
    make_visitor_click(link, days_ago=5)

    output = run("--batch-size", "10")

    assert "anonymized 10/25" in output and "anonymized 25/25" in output
    assert LinkClick.objects.filter(ip_address__isnull=False).count() == 1


@pytest.mark.parametrize("args", [("--days", "0"), ("--batch-size", "0")])
def test_it_rejects_nonsense_numbers(args: tuple[str, str]) -> None:
    with pytest.raises(CommandError, match="at least 1"):
        run(*args)
