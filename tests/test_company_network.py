""" "Someone at Fabrikam opened it": clicks from the network of the job's company.

The databases are real MaxMind-format files written with mmdb-writer (tests/geodata.py); the
Fabrikam network (2001:db8:2::/48) is announced by AS64501, "FABRIKAM-EU-AS".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analytics import queries
from notifications import alerts
from tests import geodata
from tests.factories import (
    CHROME,
    HOUR,
    make_application,
    make_job,
    make_link,
    make_visitor_click,
)
from tests.support import run_command
from tracking import company, geo, services
from tracking.clicks import events
from tracking.clicks.writer import ClickWriter
from tracking.models import Event, EventType, JobApplication, LinkClick

pytestmark = pytest.mark.django_db


@pytest.fixture
def geodb(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.GEOIP_CITY_PATH = str(geodata.write_city(tmp_path / "city.mmdb"))
    settings.GEOIP_ASN_PATH = str(geodata.write_asn(tmp_path / "asn.mmdb"))
    geo.reset()
    yield
    geo.reset()


def visit(tracking_id: str, ip: str, **headers: Any) -> Any:
    return Client().get(
        reverse("tracking:redirect", args=[tracking_id]),
        REMOTE_ADDR=ip,
        HTTP_USER_AGENT=CHROME,
        HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9",
        **headers,
    )


def fabrikam_link(**job_fields: Any) -> str:
    job = make_job(company_name=job_fields.pop("company_name", "Fabrikam, Inc."), **job_fields)
    return make_link(job=job, sent_ago=HOUR).tracking_id


# --- Names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("company_name", "as_org", "expected"),
    [
        ("Fabrikam, Inc.", "FABRIKAM-EU-AS", True),
        ("Fabrikam GmbH", "Fabrikam Inc.", True),
        ("Microsoft Corporation", "MICROSOFT-CORP-MSN-AS-BLOCK", True),
        ("Deutsche Bank AG", "DEUTSCHEBANK", True),
        ("Société Générale", "SOCIETE-GENERALE", True),
        ("Siemens", "SIEMENS-AS", True),
        ("Meta", "METANET-AS", False),  # whole words only
        ("Fabrikam", "Contoso Ltd", False),
        ("Inc.", "INC-NETWORKS", False),  # nothing left that names a company
        ("", "FABRIKAM-EU-AS", False),
    ],
)
def test_company_names_are_compared_as_normalised_whole_words(
    company_name: str, as_org: str, expected: bool
) -> None:
    assert company.org_matches(as_org, company.company_keys(company_name)) is expected


@pytest.mark.parametrize(
    "alias", ["fabrikam.com", "https://www.fabrikam.co.uk/careers", "jobs@fabrikam.de", "Fabrikam"]
)
def test_an_alias_may_be_a_name_a_domain_or_an_address(alias: str) -> None:
    keys = company.company_keys("Contoso", f"Northwind Traders\n{alias}")
    assert company.org_matches("FABRIKAM-EU-AS", keys)
    assert company.org_matches("NORTHWIND-TRADERS", keys)
    assert not company.org_matches("ADVENTURE-WORKS", keys)


def test_only_an_access_network_counts_as_the_companys() -> None:
    keys = company.company_keys("Amazon.com, Inc.")
    # AWS is rented by anyone: a click from it is no Amazon employee.
    assert not company.from_company_network(as_org="AMAZON-02", network_kind="hosting", keys=keys)
    assert company.from_company_network(as_org="AMAZON-CORP", network_kind="residential", keys=keys)
    assert company.from_company_network(as_org=None, network_kind=None, keys=keys) is None
    assert company.from_company_network(as_org="AMAZON-CORP", network_kind=None, keys=()) is None


# --- Through /track/ ------------------------------------------------------------------------


def test_a_direct_click_from_the_companys_network_is_marked(geodb: None) -> None:
    tracking_id = fabrikam_link()
    assert visit(tracking_id, geodata.FABRIKAM_IP6).status_code == 302
    assert visit(tracking_id, geodata.BERLIN_IP).status_code == 302
    stored = {click.ip_address: click for click in LinkClick.objects.all()}
    fabrikam = stored[geodata.FABRIKAM_IP6]
    assert (fabrikam.as_org, fabrikam.from_company_network) == ("FABRIKAM-EU-AS", True)
    assert fabrikam.classification == "human"
    assert stored[geodata.BERLIN_IP].from_company_network is False


def test_a_link_without_a_job_or_a_click_without_a_network_is_left_unknown(
    geodb: None, settings: Any
) -> None:
    visit(make_link(sent_ago=HOUR).tracking_id, geodata.FABRIKAM_IP6)
    assert LinkClick.objects.get().from_company_network is None
    settings.GEOIP_ASN_PATH = ""
    LinkClick.objects.all().delete()
    visit(fabrikam_link(), geodata.FABRIKAM_IP6)
    assert LinkClick.objects.get().from_company_network is None


def test_an_opted_out_click_is_not_marked(geodb: None) -> None:
    visit(fabrikam_link(), geodata.FABRIKAM_IP6, HTTP_SEC_GPC="1")
    click = LinkClick.objects.get()
    assert (click.country_code, click.as_org, click.from_company_network) == ("DE", None, None)


def test_an_alias_added_later_marks_the_stored_clicks_and_the_next_ones(geodb: None) -> None:
    job = make_job(company_name="Contoso")
    tracking_id = make_link(job=job, sent_ago=HOUR).tracking_id
    visit(tracking_id, geodata.FABRIKAM_IP6)
    assert LinkClick.objects.get().from_company_network is False

    services.update_job(job_id=job.pk, company_aliases=["fabrikam.com"])

    assert LinkClick.objects.get().from_company_network is True
    visit(tracking_id, geodata.FABRIKAM_IP6)  # the cached link carries the new names
    assert list(LinkClick.objects.values_list("from_company_network", flat=True)) == [True, True]
    services.update_job(job_id=job.pk, company_aliases="")
    assert set(LinkClick.objects.values_list("from_company_network", flat=True)) == {False}


def test_the_api_keeps_the_aliases_as_a_list(admin_client: Any) -> None:
    job = make_job(company_name="Contoso")
    url = reverse("api:job-detail", args=[job.pk])
    response = admin_client.patch(
        url, {"company_aliases": ["fabrikam.com", "Fabrikam"]}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["company_aliases"] == ["fabrikam.com", "Fabrikam"]


def test_a_reported_click_is_marked(geodb: None) -> None:
    tracking_id = fabrikam_link()
    services.record_reported_click(
        tracking_id=tracking_id, ip_address=geodata.FABRIKAM_IP6, user_agent=CHROME
    )
    assert LinkClick.objects.get().from_company_network is True


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_buffered_click_is_marked_by_the_writer(geodb: None, stream: str) -> None:
    tracking_id = fabrikam_link()
    visit(tracking_id, geodata.FABRIKAM_IP6)
    visit(tracking_id, geodata.PARIS_IP6)
    assert not LinkClick.objects.exists()
    ClickWriter(consumer="company-test-writer").run(drain=True)
    stored = dict(LinkClick.objects.values_list("ip_address", "from_company_network"))
    assert stored == {"2001:db8:2::10": True, "2001:db8:1::7": False}


def test_the_backfill_marks_clicks_it_locates(geodb: None) -> None:
    link = make_link(job=make_job(company_name="Fabrikam"), sent_ago=HOUR)
    make_visitor_click(link, ip_address=geodata.FABRIKAM_IP6)
    run_command("geolocate_clicks")
    assert LinkClick.objects.get().from_company_network is True


def test_anonymisation_keeps_the_mark_and_drops_the_organisation(geodb: None) -> None:
    visit(fabrikam_link(), geodata.FABRIKAM_IP6)
    LinkClick.objects.update(clicked_at=timezone.now() - dt.timedelta(days=400))
    run_command("anonymize_clicks")
    click = LinkClick.objects.get()
    assert (click.ip_address, click.as_org, click.from_company_network) == (None, None, True)


# --- What the job seeker is told ------------------------------------------------------------


def fabrikam_application_click(ip: str = geodata.FABRIKAM_IP6) -> JobApplication:
    application = make_application(make_job(company_name="Fabrikam"))
    link = make_link(job=application.job, application=application, sent_ago=HOUR)
    visit(link.tracking_id, ip)
    return application


def test_the_alert_says_someone_at_the_company_opened_it_and_where(geodb: None) -> None:
    fabrikam_application_click()
    click = LinkClick.objects.get()
    events.record_events([click.click_id])
    event = Event.objects.get(type=EventType.APPLICATION_FIRST_PERSON_CLICK)
    assert event.payload["from_company_network"] is True
    assert "city" not in event.payload  # events are kept; the city goes at anonymisation

    context = alerts.alert_context(event, now=timezone.now())

    assert context["subject"].startswith("Someone at Fabrikam opened your")
    assert context["summary"].startswith("Someone at Fabrikam opened your")
    text = render_to_string("notifications/alert.txt", context)
    assert "Where: Munich, Bavaria, DE" in text
    assert "Network: Fabrikam's network" in text


def test_without_a_match_the_alert_and_the_feed_name_the_kind_of_network(geodb: None) -> None:
    fabrikam_application_click(geodata.BERLIN_IP)
    click = LinkClick.objects.get()
    events.record_events([click.click_id])
    event = Event.objects.get(type=EventType.APPLICATION_FIRST_PERSON_CLICK)
    context = alerts.alert_context(event, now=timezone.now())
    assert context["summary"].startswith("A person opened your")
    assert context["network"] == "Home or office internet"
    [row], _more = queries.latest_clicks()
    assert (row["place"], row["network"]) == ("Berlin, Germany", "Home or office internet")


def test_the_activity_feed_shows_the_city_to_who_may_see_it(geodb: None) -> None:
    fabrikam_application_click()
    [row], _more = queries.latest_clicks()
    assert row["place"] == "Munich, Bavaria, Germany"
    assert (row["network"], row["from_company_network"]) == ("Fabrikam's network", True)
    [row], _more = queries.latest_clicks(with_city=False)
    assert row["place"] == "Bavaria, Germany"


def test_the_application_page_says_someone_at_the_company_opened_it(
    geodb: None, admin_client: Any
) -> None:
    application = fabrikam_application_click()
    html = admin_client.get(
        reverse("analytics:application-detail", args=[application.pk])
    ).content.decode()
    assert "Someone at Fabrikam opened it." in html
    assert "1 person click came from a network registered to Fabrikam" in html
    assert "Fabrikam&#x27;s network" in html  # the visit in the journey


def test_an_alias_added_in_the_admin_marks_the_stored_clicks(geodb: None, rf: Any) -> None:
    from types import SimpleNamespace

    from django.contrib import admin

    from tracking.models import Job

    job = make_job(company_name="Contoso")
    visit(make_link(job=job, sent_ago=HOUR).tracking_id, geodata.FABRIKAM_IP6)
    assert LinkClick.objects.get().from_company_network is False
    job.company_aliases = "fabrikam.eu"
    form = SimpleNamespace(changed_data=["company_aliases"])
    admin.site._registry[Job].save_model(rf.post("/"), job, form, True)
    assert LinkClick.objects.get().from_company_network is True
