"""Routing rules: validation on write, each rule type on the redirect, precedence, the A/B split
and its stickiness, what the click records, and the rules API."""

from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from analytics.queries.routes import clicks_by_route
from analytics.selection import Selection
from tests import geodata
from tests.factories import key_client, make_key, make_sent_link
from tests.test_redirect import DESTINATION, visit
from tracking import geo, linkcache, routing, services
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Mobile Safari/537.36"
)
MOBILE_PAGE = "https://calendly.com/steve-glen/mobile"
ANDROID_PAGE = "https://example.org/android"
PORTFOLIO_A = "https://example.org/portfolio-a"
PORTFOLIO_B = "https://example.org/portfolio-b"


def rule(rule_type: str, destination: str, **fields: Any) -> dict[str, Any]:
    return {"rule_type": rule_type, "destination_url": destination, **fields}


def with_rules(*rules: dict[str, Any], **link_fields: Any) -> str:
    tracking_id = make_sent_link(**link_fields)
    services.replace_link_rules(tracking_id=tracking_id, rules=list(rules))
    return tracking_id


# --- Validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (rule("device", MOBILE_PAGE, conditions={"device_types": ["phone"]}), "device_types"),
        (rule("device", MOBILE_PAGE, conditions={"devices": ["mobile"]}), "devices"),
        (rule("os", MOBILE_PAGE, conditions={"os": []}), "os"),
        (
            rule("time", MOBILE_PAGE, conditions={"hours": {"start": "25:00", "end": "1"}}),
            "hours.start",
        ),
        (rule("time", MOBILE_PAGE, conditions={"weekdays": [7]}), "weekdays"),
        (
            rule("time", MOBILE_PAGE, conditions={"from": "2026-02-01", "until": "2026-01-01"}),
            "until",
        ),
        (rule("referrer", MOBILE_PAGE, conditions={"sources": "email"}), "sources"),
        (rule("ab_test", MOBILE_PAGE, conditions={"share": 50}), "share"),
    ],
)
def test_a_bad_condition_is_refused_by_name(bad: dict[str, Any], field: str) -> None:
    tracking_id = make_sent_link()
    response = key_client(make_key(["links:write"])).put(
        reverse("api:link-rules", args=[tracking_id]),
        {"rules": [rule("device", MOBILE_PAGE, conditions={"device_types": ["mobile"]}), bad]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [f"rules[1].conditions.{field}"]
    assert not services.link_rules(tracking_id=tracking_id)  # nothing written


def test_a_rule_destination_passes_the_link_url_rules() -> None:
    tracking_id = make_sent_link()
    with pytest.raises(services.ValidationFailed) as refused:
        services.replace_link_rules(
            tracking_id=tracking_id, rules=[rule("ab_test", "javascript:alert(1)")]
        )
    assert refused.value.field == "rules[0].destination_url"


def test_the_rules_api_replaces_and_lists_rules_with_warnings() -> None:
    tracking_id = make_sent_link()
    client = key_client(make_key(["links:read", "links:write"]))
    url = reverse("api:link-rules", args=[tracking_id])
    body = {
        "rules": [
            rule("country", PORTFOLIO_A, conditions={"countries": ["de"]}, priority=1),
            rule("device", MOBILE_PAGE, conditions={"device_types": ["mobile"]}, priority=2),
        ]
    }
    response = client.put(url, body, content_type="application/json")
    assert response.status_code == 200, response.content
    assert [r["rule_type"] for r in response.json()["rules"]] == ["country", "device"]
    assert "geolocation" in response.json()["warnings"][0]
    listed = client.get(url).json()
    assert listed["rules"] == response.json()["rules"]
    assert client.put(url, {"rules": []}, content_type="application/json").json()["rules"] == []


def test_the_rules_api_names_unknown_rule_fields() -> None:
    tracking_id = make_sent_link()
    response = key_client(make_key(["links:write"])).put(
        reverse("api:link-rules", args=[tracking_id]),
        {"rules": [rule("ab_test", PORTFOLIO_A, percent=50)]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "percent" in str(response.json()["error"]["fields"])


# --- Each rule type on the redirect ----------------------------------------------------------


def test_phones_go_to_the_mobile_page_and_desktops_to_the_link() -> None:
    tracking_id = with_rules(rule("device", MOBILE_PAGE, conditions={"device_types": ["mobile"]}))
    assert visit(Client(), tracking_id, HTTP_USER_AGENT=IPHONE)["Location"] == MOBILE_PAGE
    assert visit(Client(), tracking_id)["Location"] == DESTINATION


def test_an_os_rule_matches_the_operating_system() -> None:
    tracking_id = with_rules(rule("os", ANDROID_PAGE, conditions={"os": ["android"]}))
    assert visit(Client(), tracking_id, HTTP_USER_AGENT=ANDROID_PHONE)["Location"] == ANDROID_PAGE
    assert visit(Client(), tracking_id, HTTP_USER_AGENT=IPHONE)["Location"] == DESTINATION


def test_a_referrer_rule_matches_the_click_source() -> None:
    tracking_id = with_rules(rule("referrer", PORTFOLIO_B, conditions={"sources": ["linkedin"]}))
    from_linkedin = visit(Client(), tracking_id, HTTP_REFERER="https://www.linkedin.com/feed/")
    assert from_linkedin["Location"] == PORTFOLIO_B
    assert visit(Client(), tracking_id, query="src=linkedin")["Location"] == PORTFOLIO_B
    assert visit(Client(), tracking_id)["Location"] == DESTINATION


def test_a_time_rule_uses_the_local_time_zone(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.TIME_ZONE = "Europe/Berlin"
    tracking_id = with_rules(
        rule(
            "time",
            PORTFOLIO_A,
            conditions={"weekdays": [0, 1, 2, 3, 4], "hours": {"start": "09:00", "end": "17:00"}},
        )
    )
    berlin = ZoneInfo("Europe/Berlin")
    # Monday 2026-06-01, 08:30 in UTC is 10:30 in Berlin: inside office hours.
    now = dt.datetime(2026, 6, 1, 8, 30, tzinfo=dt.UTC).astimezone(berlin)
    monkeypatch.setattr(routing, "_local_now", lambda: now)
    assert visit(Client(), tracking_id)["Location"] == PORTFOLIO_A
    monkeypatch.setattr(routing, "_local_now", lambda: now.replace(hour=17, minute=0))
    assert visit(Client(), tracking_id)["Location"] == DESTINATION  # the end is exclusive
    monkeypatch.setattr(routing, "_local_now", lambda: now + dt.timedelta(days=5))  # Saturday
    assert visit(Client(), tracking_id)["Location"] == DESTINATION


def test_a_date_range_rule_includes_both_days(monkeypatch: pytest.MonkeyPatch) -> None:
    tracking_id = with_rules(
        rule("time", PORTFOLIO_B, conditions={"from": "2026-03-01", "until": "2026-03-31"})
    )
    zone = ZoneInfo("UTC")
    for day, expected in [(28, DESTINATION), (1, PORTFOLIO_B), (31, PORTFOLIO_B)]:
        month = 2 if day == 28 else 3
        now = dt.datetime(2026, month, day, 23, 59, tzinfo=zone)
        monkeypatch.setattr(routing, "_local_now", lambda now=now: now)
        assert visit(Client(), tracking_id)["Location"] == expected


def test_a_country_rule_is_ignored_without_geolocation() -> None:
    tracking_id = with_rules(rule("country", PORTFOLIO_A, conditions={"countries": ["US"]}))
    assert visit(Client(), tracking_id)["Location"] == DESTINATION


@pytest.fixture
def geodb(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.GEOIP_CITY_PATH = str(geodata.write_city(tmp_path / "city.mmdb"))
    geo.reset()
    yield
    geo.reset()


@pytest.mark.usefixtures("geodb")
def test_a_country_rule_routes_by_the_visitors_address() -> None:
    tracking_id = with_rules(
        rule("country", PORTFOLIO_A, conditions={"countries": ["de", "AT"]}, priority=1),
        rule("country", PORTFOLIO_B, conditions={"countries": ["FR"]}, priority=2),
    )
    berlin = visit(Client(), tracking_id, REMOTE_ADDR=geodata.BERLIN_IP)
    paris = visit(Client(), tracking_id, REMOTE_ADDR=geodata.PARIS_IP6)
    virginia = visit(Client(), tracking_id, REMOTE_ADDR=geodata.CLOUD_IP)
    unknown = visit(Client(), tracking_id, REMOTE_ADDR="100.64.0.1")
    assert [r["Location"] for r in (berlin, paris, virginia, unknown)] == [
        PORTFOLIO_A,
        PORTFOLIO_B,
        DESTINATION,
        DESTINATION,
    ]
    rules = {r.destination_url: str(r.pk) for r in services.link_rules(tracking_id=tracking_id)}
    by_country = {
        c.country_code: (c.metadata or {}).get("lt_rule")
        for c in LinkClick.objects.filter(tracking_id=tracking_id)
    }
    assert by_country == {
        "DE": rules[PORTFOLIO_A],
        "FR": rules[PORTFOLIO_B],
        "US": None,
        None: None,
    }


@pytest.mark.usefixtures("geodb")
def test_country_rules_warn_only_without_geolocation(settings: Any) -> None:
    tracking_id = with_rules(rule("country", PORTFOLIO_A, conditions={"countries": ["DE"]}))
    assert services.rule_warnings(services.link_rules(tracking_id=tracking_id)) == []
    settings.GEOIP_CITY_PATH = ""
    assert "geolocation" in services.rule_warnings(services.link_rules(tracking_id=tracking_id))[0]


@pytest.mark.usefixtures("geodb")
def test_a_country_rule_after_a_matching_rule_costs_no_lookup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tracking_id = with_rules(
        rule("device", MOBILE_PAGE, conditions={"device_types": ["desktop"]}, priority=1),
        rule("country", PORTFOLIO_A, conditions={"countries": ["DE"]}, priority=2),
    )
    link = linkcache.resolve_link(tracking_id)
    assert link is not None
    looked_up: list[str | None] = []

    def locate(ip: str | None) -> geo.Location:
        looked_up.append(ip)
        return geo.NOWHERE

    monkeypatch.setattr(geo, "locate", locate)
    assert visit(Client(), tracking_id, REMOTE_ADDR=geodata.BERLIN_IP)["Location"] == MOBILE_PAGE
    assert looked_up == [geodata.BERLIN_IP]  # the click's own geo fields, not the routing


# --- Precedence, A/B variants, what the click records -----------------------------------------


def test_the_first_matching_rule_by_priority_wins() -> None:
    tracking_id = with_rules(
        rule("device", MOBILE_PAGE, conditions={"device_types": ["mobile"]}, priority=20),
        rule("os", ANDROID_PAGE, conditions={"os": ["ios"]}, priority=10),
        rule(
            "device",
            PORTFOLIO_B,
            conditions={"device_types": ["mobile"]},
            priority=5,
            is_active=False,
        ),
    )
    assert visit(Client(), tracking_id, HTTP_USER_AGENT=IPHONE)["Location"] == ANDROID_PAGE
    assert visit(Client(), tracking_id, HTTP_USER_AGENT=ANDROID_PHONE)["Location"] == MOBILE_PAGE


def test_a_specific_rule_before_the_split_takes_its_visitors() -> None:
    tracking_id = with_rules(
        rule("device", MOBILE_PAGE, conditions={"device_types": ["mobile"]}, priority=1),
        rule("ab_test", PORTFOLIO_A, priority=2, weight=1),
        rule("ab_test", PORTFOLIO_B, priority=3, weight=1),
    )
    assert visit(Client(), tracking_id, HTTP_USER_AGENT=IPHONE)["Location"] == MOBILE_PAGE
    assert visit(Client(), tracking_id)["Location"] in {PORTFOLIO_A, PORTFOLIO_B}


def test_variants_split_by_weight_within_five_percent_over_2000_sessions() -> None:
    tracking_id = with_rules(
        rule("ab_test", PORTFOLIO_A, weight=70, name="A"),
        rule("ab_test", PORTFOLIO_B, weight=30, name="B"),
    )
    link = linkcache.resolve_link(tracking_id)
    assert link is not None
    split = Counter(
        routing.choose(
            link.rules,
            key=tracking_id,
            visitor=routing.Visitor(
                user_agent=None, click_source=None, session_id="s_" + secrets.token_urlsafe(18)
            ),
        ).name  # type: ignore[union-attr]
        for _ in range(2000)
    )
    assert abs(split["A"] / 2000 - 0.70) <= 0.05
    assert abs(split["B"] / 2000 - 0.30) <= 0.05


def test_a_visitor_keeps_their_variant_and_the_click_names_it() -> None:
    tracking_id = with_rules(
        rule("ab_test", PORTFOLIO_A, weight=1), rule("ab_test", PORTFOLIO_B, weight=1)
    )
    rules = {r.destination_url: r.pk for r in services.link_rules(tracking_id=tracking_id)}
    for _ in range(5):
        client = Client()
        first = visit(client, tracking_id)["Location"]
        assert {visit(client, tracking_id)["Location"] for _ in range(5)} == {first}
        assert client.cookies["lt_sid"].value
    clicks = LinkClick.objects.filter(tracking_id=tracking_id)
    assert clicks.count() == 30
    assert {(c.metadata or {}).get("lt_rule") for c in clicks} <= {str(pk) for pk in rules.values()}


def test_a_visitor_cannot_claim_a_rule_in_the_query() -> None:
    tracking_id = make_sent_link()
    visit(Client(), tracking_id, query="lt_rule=99&utm_source=cv")
    assert LinkClick.objects.get(tracking_id=tracking_id).metadata == {"utm_source": "cv"}


def test_a_warm_redirect_with_rules_makes_one_insert_and_no_select(
    django_assert_num_queries: Any,
) -> None:
    tracking_id = with_rules(
        rule("device", MOBILE_PAGE, conditions={"device_types": ["mobile"]}),
        rule("ab_test", PORTFOLIO_A),
        rule("ab_test", PORTFOLIO_B),
    )
    client = Client()
    visit(client, tracking_id)  # warms the link cache
    with django_assert_num_queries(1) as captured:
        visit(client, tracking_id, HTTP_USER_AGENT=IPHONE)
    assert captured.captured_queries[0]["sql"].lstrip().upper().startswith("INSERT")


def test_the_dashboard_shows_rules_with_their_clicks() -> None:
    tracking_id = with_rules(
        rule("device", MOBILE_PAGE, conditions={"device_types": ["mobile"]}, name="Phones"),
        utm_source="email",
    )
    visit(Client(), tracking_id, HTTP_USER_AGENT=IPHONE)
    visit(Client(), tracking_id)
    admin = User.objects.create_superuser("boss")
    client = Client()
    client.force_login(admin)
    page = client.get(reverse("analytics:link-detail", args=[tracking_id])).content.decode()
    assert "Phones" in page and MOBILE_PAGE in page
    assert "No rule matched" in page
    assert "utm_source=email" in page
    assert f"/track/{tracking_id}/qr.png" in page
    (phones,) = services.link_rules(tracking_id=tracking_id)
    rows = clicks_by_route(services.get_link(tracking_id=tracking_id), Selection())
    assert [(r["rule_id"], r["clicks"], r["person_clicks"]) for r in rows] == [
        (phones.pk, 1, 1),
        (None, 1, 1),
    ]
