"""The decoy link: one hidden link per application's e-mail; a hit on it marks that network's
clicks on the application within 30 s as a scanner's (reason ``decoy_hit``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone

from tests.factories import (
    CHROME,
    HOUR,
    key_client,
    make_application,
    make_click,
    make_job,
    make_key,
    make_profile_links,
)
from tests.support import patch_json, run_command
from tests.test_redirect import BROWSER_HEADERS, send_response
from tracking import linkcache, services, views
from tracking.clicks import burstmemory, decoy
from tracking.clicks import stream as clickstream
from tracking.clicks.writer import write_clicks
from tracking.models import JobApplication, LinkClick, TrackedLink

pytestmark = pytest.mark.django_db

# What a gateway's sandboxed browser sends: a full desktop Chrome with Accept-Language, nothing a
# user-agent rule can tell from a person's.
SCANNER_IP = "203.0.113.7"
SAME_NETWORK_IP = "203.0.113.200"
OTHER_IP = "198.51.100.23"


@pytest.fixture
def application() -> JobApplication:
    make_profile_links()
    application = make_application(
        make_job(title="Data Analyst", posting_url="https://careers.example.com/1")
    )
    services.create_job_application_links(application_id=application.pk)
    TrackedLink.objects.filter(application=application).update(created_at=timezone.now() - HOUR)
    return application


def decoy_of(application: JobApplication) -> TrackedLink:
    link = services.application_decoy_link(application_id=application.pk)
    assert link is not None
    TrackedLink.objects.filter(pk=link.pk).update(created_at=timezone.now() - HOUR)
    return link


def real_link(application: JobApplication) -> TrackedLink:
    return next(iter(services.package_links(application_id=application.pk).values()))


def redirect(tracking_id: str, ip: str) -> Any:
    """A person-like request through the redirect, its follow-up run as the server would."""
    request = RequestFactory().get(
        f"/track/{tracking_id}", **{**BROWSER_HEADERS, "REMOTE_ADDR": ip}
    )
    response = views.redirect(request, tracking_id)
    assert response.status_code == 302
    send_response(response)
    return response


def earlier_click(link: TrackedLink, ip: str, seconds_ago: float) -> LinkClick:
    return make_click(
        link,
        classification="human",
        classification_reasons=[],
        ip_address=ip,
        user_agent=CHROME,
        clicked_at=timezone.now() - dt.timedelta(seconds=seconds_ago),
    )


# --- The e-mail ----------------------------------------------------------------------------


def test_the_html_email_carries_one_hidden_decoy_link_and_the_plain_text_none(
    application: JobApplication,
) -> None:
    email = services_email(application)
    link = decoy_of(application)
    html = str(email["html"])
    assert html.count(link.redirect_url) == 1
    hidden = html[html.index('<div aria-hidden="true"') :]
    assert "display:none" in hidden.split(">", 1)[0]
    assert 'tabindex="-1"' in hidden and "not a link for people" in hidden
    assert link.redirect_url not in email["text"]
    # It is no link of the package: creating the package again neither reuses nor shows it.
    assert link.tracking_id not in {
        found.tracking_id
        for found in services.package_links(application_id=application.pk).values()
    }
    assert email["has_decoy"] is True


def services_email(application: JobApplication) -> dict[str, Any]:
    from tracking.templatetags.tracked_links import tracked_email

    return tracked_email(application)


def test_an_application_can_go_without_a_decoy(application: JobApplication) -> None:
    services.update_application(application_id=application.pk, uses_decoy_link=False)
    application.refresh_from_db()
    email = services_email(application)
    assert "not a link for people" not in str(email["html"])
    assert not TrackedLink.objects.filter(is_decoy=True).exists()


def test_the_dashboard_snippet_says_the_decoy_is_there(
    admin_client: Client, application: JobApplication
) -> None:
    page = admin_client.get(f"/dashboard/applications/{application.pk}/").content.decode()
    assert "data-decoy-note" in page
    assert "not a link for people" in page


# --- Direct mode ---------------------------------------------------------------------------


def test_a_decoy_hit_marks_the_networks_earlier_clicks_and_is_never_a_person(
    application: JobApplication,
) -> None:
    link = decoy_of(application)
    scanned = earlier_click(real_link(application), SCANNER_IP, seconds_ago=12)
    person = earlier_click(real_link(application), OTHER_IP, seconds_ago=12)
    long_before = earlier_click(real_link(application), SAME_NETWORK_IP, seconds_ago=45)
    redirect(link.tracking_id, SAME_NETWORK_IP)
    hit = LinkClick.objects.get(tracking_id=link.tracking_id)
    assert hit.classification == "scanner"
    assert "decoy_hit" in (hit.classification_reasons or [])
    scanned.refresh_from_db()
    assert scanned.classification == "scanner"
    assert scanned.classification_reasons == ["decoy_hit"]
    for untouched in (person, long_before):
        untouched.refresh_from_db()
        assert untouched.classification == "human"


def test_a_click_arriving_after_a_decoy_hit_from_its_network_is_a_scanner(
    application: JobApplication,
) -> None:
    link = decoy_of(application)
    redirect(link.tracking_id, SCANNER_IP)
    # Ten seconds ago: out of the burst rule's reach, within the decoy's.
    LinkClick.objects.filter(tracking_id=link.tracking_id).update(
        clicked_at=timezone.now() - dt.timedelta(seconds=10)
    )
    target = real_link(application)
    redirect(target.tracking_id, SAME_NETWORK_IP)
    redirect(target.tracking_id, OTHER_IP)
    verdicts = dict(
        LinkClick.objects.filter(tracking_id=target.tracking_id).values_list(
            "ip_address", "classification"
        )
    )
    assert verdicts == {SAME_NETWORK_IP: "scanner", OTHER_IP: "human"}


def test_the_same_autonomous_system_counts_as_the_same_network(
    application: JobApplication,
) -> None:
    target = real_link(application)
    elsewhere = earlier_click(target, OTHER_IP, seconds_ago=5)
    LinkClick.objects.filter(pk=elsewhere.pk).update(asn=8075)
    changed = decoy.mark_around_hit(
        application_id=str(application.pk),
        network=decoy.network_of("192.0.2.1"),
        asn=8075,
        clicked_at=timezone.now(),
    )
    assert changed == 1
    elsewhere.refresh_from_db()
    assert elsewhere.classification == "scanner"


def test_ipv6_networks_are_compared_by_their_64() -> None:
    assert decoy.network_of("2001:db8:1:2::7") == decoy.network_of("2001:db8:1:2:ffff::1")
    assert decoy.network_of("2001:db8:1:3::7") != decoy.network_of("2001:db8:1:2::7")


def test_a_correction_stands_against_a_decoy_hit(application: JobApplication) -> None:
    target = real_link(application)
    corrected = earlier_click(target, SCANNER_IP, seconds_ago=5)
    services.correct_click_verdict(click_id=corrected.pk, verdict="person", corrected_by="user:ann")
    redirect(decoy_of(application).tracking_id, SCANNER_IP)
    corrected.refresh_from_db()
    assert corrected.classification == "human"
    assert "decoy_hit" in (corrected.classification_reasons or [])


# --- Buffered mode -------------------------------------------------------------------------


def test_the_click_writer_applies_the_decoy_rule_to_its_batch(application: JobApplication) -> None:
    link = decoy_of(application)
    target = real_link(application)
    earlier = earlier_click(target, SCANNER_IP, seconds_ago=20)
    now = timezone.now()
    batch = []
    for tracking_id, ip, is_decoy, offset in (
        (link.tracking_id, SAME_NETWORK_IP, True, 0),
        (target.tracking_id, SCANNER_IP, False, 8),
        (target.tracking_id, OTHER_IP, False, 8),
    ):
        click = services.build_click(
            tracking_id=tracking_id,
            ip_address=ip,
            user_agent=CHROME,
            clicked_at=now + dt.timedelta(seconds=offset),
        )
        signals = {
            "user_agent": CHROME,
            "client_ip": ip,
            "has_accept_language": True,
            "link_created_at": (now - HOUR).isoformat(),
            "application_id": str(application.pk),
            "decoy": is_decoy,
            "application_has_decoy": True,
        }
        entry = clickstream.decode_click(clickstream.encode_click(click, signals=signals))
        batch.append(entry)
    write_clicks(batch)
    earlier.refresh_from_db()
    assert earlier.classification == "scanner"
    rows = LinkClick.objects.exclude(pk=earlier.pk).values_list("ip_address", "classification")
    assert sorted(rows) == sorted(
        [(SAME_NETWORK_IP, "scanner"), (SCANNER_IP, "scanner"), (OTHER_IP, "human")]
    )


def test_reclassify_clicks_keeps_a_decoy_hit(application: JobApplication) -> None:
    target = real_link(application)
    marked = earlier_click(target, SCANNER_IP, seconds_ago=60)
    LinkClick.objects.filter(pk=marked.pk).update(
        classification="scanner", classification_reasons=["decoy_hit"], has_accept_language=True
    )
    hit = earlier_click(decoy_of(application), SCANNER_IP, seconds_ago=60)
    LinkClick.objects.filter(pk=hit.pk).update(classification="human", has_accept_language=True)
    run_command("reclassify_clicks")
    verdicts = dict(LinkClick.objects.values_list("click_id", "classification"))
    assert verdicts == {marked.pk: "scanner", hit.pk: "scanner"}


def test_the_api_turns_the_decoy_off_for_an_application(application: JobApplication) -> None:
    client = key_client(make_key())
    url = f"/api/v1/applications/{application.pk}"
    response = patch_json(client, url, {"uses_decoy_link": False})
    assert response.status_code == 200, response.content
    assert response.json()["uses_decoy_link"] is False
    application.refresh_from_db()
    assert application.uses_decoy_link is False


def test_clicks_of_an_application_without_a_decoy_skip_the_rule(
    application: JobApplication, django_assert_num_queries: Any
) -> None:
    target = real_link(application)
    redirect(target.tracking_id, OTHER_IP)  # warms the link cache
    request = RequestFactory().get(
        f"/track/{target.tracking_id}", **{**BROWSER_HEADERS, "REMOTE_ADDR": OTHER_IP}
    )
    response = views.redirect(request, target.tracking_id)
    # After the response: the burst rule's one question with a per-process cache and no burst
    # table (none with Redis or a SQLite file, whose pre-check answers), and none for a decoy.
    asks = linkcache.shared_cache_is_process_local() and burstmemory.table_path() is None
    with django_assert_num_queries(1 if asks else 0):
        send_response(response)
