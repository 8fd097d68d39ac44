from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tracking import geo
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db


def test_demo_clicks_are_classified_by_the_classifier_with_a_realistic_mix() -> None:
    call_command("load_demo")
    clicks = list(LinkClick.objects.all())
    assert clicks and all(click.classification for click in clicks)
    kinds = {click.classification for click in clicks}
    assert kinds == {"human", "bot", "scanner", "preview"}
    humans = [click for click in clicks if click.classification == "human"]
    assert len(humans) > len(clicks) / 2
    assert all(click.classification_reasons == [] for click in humans)
    assert all(click.device_type in {"desktop", "mobile"} for click in humans)
    scanners = [click for click in clicks if click.classification == "scanner"]
    assert {"scanner_network", "head_request", "empty_user_agent"} <= {
        reason for click in scanners for reason in (click.classification_reasons or [])
    }


def test_without_geodata_the_demo_writes_labelled_demo_databases_and_fills_the_map(
    settings: Any,
) -> None:
    call_command("load_demo", stdout=io.StringIO())
    assert (Path(settings.GEOIP_DEMO_DIR) / geo.DEMO_CITY_FILE).exists()
    humans = LinkClick.objects.filter(classification="human", ip_address__startswith="203.0.113.")
    assert humans.exists()
    assert not humans.filter(country_code__isnull=True).exists()
    assert len(set(humans.values_list("country_code", flat=True))) > 3
    state = geo.geo_state()
    assert state["demo"] is True
    assert state["city"]["database_type"] == "Demo-City"
    # The demo's Fabrikam office network: its clicks on Fabrikam's links are marked, others not.
    marked = LinkClick.objects.filter(from_company_network=True)
    assert marked.exists()
    assert set(marked.values_list("tracking__job__company_name", flat=True)) == {"Fabrikam"}
    assert humans.filter(from_company_network=False).exists()
    geo.reset()


def test_with_a_real_database_configured_the_demo_writes_none(settings: Any) -> None:
    settings.GEOIP_CITY_PATH = "/nonexistent/GeoLite2-City.mmdb"
    call_command("load_demo", stdout=io.StringIO())
    assert not Path(settings.GEOIP_DEMO_DIR).exists()
    geo.reset()
