"""Signals only linktrack has: when the application was sent, and the scanners' referrers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import CHROME, make_application, make_job, make_link
from tracking import classify, linkcache
from tracking.classify import ClickSignals
from tracking.models import LinkClick

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def verdict(**overrides: Any) -> classify.Verdict:
    fields: dict[str, Any] = {
        "http_method": "GET",
        "user_agent": CHROME,
        "has_accept_language": True,
        "client_ip": "198.51.100.23",
        "clicked_at": NOW,
        "link_created_at": NOW - dt.timedelta(hours=2),
        "scanner_window_seconds": 10,
    }
    fields.update(overrides)
    return classify.classify_click(**fields)


@pytest.mark.parametrize(
    "referrer",
    [
        "https://url.emailprotection.link/?b6t_II7rHqeURY3L4E7",
        "https://whysecurity.urlsand.com/?u=https%3A%2F%2Fexample.org",
        "https://statics.teams.cdn.office.net/evergreen-assets/safelinks/1/atp-safelinks.html",
        "https://security-za.m.mimecastprotect.com/s/abc",
    ],
)
def test_a_scanners_referrer_makes_a_scanner(referrer: str) -> None:
    result = verdict(referrer=referrer)
    assert (result.classification, result.reasons) == ("scanner", ("scanner_referrer",))


@pytest.mark.parametrize(
    "referrer",
    [
        None,
        "https://mail.google.com/",
        "https://www.linkedin.com/",
        "https://noturlsand.com/",  # a suffix of the text, not a subdomain
        "https://deref-gmx.com/mail/client/abc/dereferrer/?redirectUrl=x",  # webmail, a reader
        "http://[::1",  # unparseable
    ],
)
def test_other_referrers_are_not_scanner_signals(referrer: str | None) -> None:
    assert verdict(referrer=referrer).classification == "human"


def test_a_click_soon_after_the_application_was_sent_is_a_scanner() -> None:
    result = verdict(application_submitted_at=NOW - dt.timedelta(seconds=4))
    assert (result.classification, result.reasons) == ("scanner", ("soon_after_submission",))
    # Later than the window, before the submission, or with the rule off: no signal.
    assert verdict(application_submitted_at=NOW - dt.timedelta(seconds=11)).reasons == ()
    assert verdict(application_submitted_at=NOW + dt.timedelta(seconds=30)).reasons == ()
    assert verdict(application_submitted_at=NOW, scanner_window_seconds=0).classification == "human"


def test_both_anchors_are_reported_when_both_fire() -> None:
    result = verdict(link_created_at=NOW, application_submitted_at=NOW - dt.timedelta(seconds=1))
    assert result.reasons == ("soon_after_creation", "soon_after_submission")


def test_the_window_labels_name_their_anchor_and_length(settings: Any) -> None:
    settings.SCANNER_WINDOW_SECONDS = 25
    assert classify.reason_label("soon_after_submission") == (
        "Opened within 25 s of the application's submission"
    )
    assert "25 s of the link's creation" in classify.reason_label("soon_after_creation")


def test_the_submission_time_survives_the_queue() -> None:
    signals = ClickSignals(
        user_agent=CHROME,
        client_ip="198.51.100.23",
        has_accept_language=True,
        link_created_at=NOW,
        application_id="550e8400-e29b-41d4-a716-446655440001",
        application_submitted_at=NOW - dt.timedelta(minutes=3),
    )
    assert ClickSignals.from_dict(signals.as_dict()) == signals


@pytest.mark.django_db
def test_a_redirect_right_after_the_application_was_sent_is_a_scanner() -> None:
    job = make_job(title="Data Analyst", company_name="Fabrikam")
    application = make_application(job, submitted_at=timezone.now())
    tracking_id = make_link(application=application, sent_ago=dt.timedelta(days=2)).tracking_id
    linkcache.clear_local_cache()
    response = Client().get(
        reverse("tracking:redirect", args=[tracking_id]),
        HTTP_USER_AGENT=CHROME,
        HTTP_ACCEPT_LANGUAGE="en",
        REMOTE_ADDR="198.51.100.23",
        HTTP_REFERER="https://alpitour.urlsand.com/?u=x",
    )
    assert response.status_code == 302
    click = LinkClick.objects.get()
    assert click.classification == "scanner"
    assert click.classification_reasons == ["scanner_referrer", "soon_after_submission"]
