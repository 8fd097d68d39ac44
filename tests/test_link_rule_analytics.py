"""What a link's analytics say about its routing rules: clicks, person clicks and the interview
rate per rule and A/B variant, in the analytics API, the dashboard's link page and the CSV export;
and rules that keep their id (and so their clicks) when they are edited."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analytics import outcomes
from analytics.queries.routes import clicks_by_route
from analytics.selection import Period, Selection
from tests.factories import key_client, make_application, make_key, make_sent_link
from tests.test_link_rules import IPHONE, MOBILE_PAGE, PORTFOLIO_A, PORTFOLIO_B, rule
from tests.test_redirect import DESTINATION, visit
from tracking import services
from tracking.models import ApplicationStatus, LinkClick

pytestmark = pytest.mark.django_db


def routed_link(**link_fields: Any) -> tuple[str, dict[str, int]]:
    """A link with a phones rule before a one-variant split (so where a desktop goes is known),
    and the rules' ids by name."""
    tracking_id = make_sent_link(**link_fields)
    saved = services.replace_link_rules(
        tracking_id=tracking_id,
        rules=[
            rule("device", MOBILE_PAGE, conditions={"device_types": ["mobile"]}, name="Phones"),
            rule("ab_test", PORTFOLIO_A, priority=1, weight=1, name="Portfolio A"),
            rule("ab_test", PORTFOLIO_B, priority=2, weight=0, name="Portfolio B"),
        ],
    )
    return tracking_id, {r.name: r.pk for r in saved}


def rows_by_label(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["rule"]: row for row in rows}


def sent_application() -> Any:
    return make_application(submitted_at=timezone.now() - dt.timedelta(hours=2))


def test_each_rule_and_variant_counts_its_clicks_and_person_clicks() -> None:
    tracking_id, ids = routed_link()
    visit(Client(), tracking_id, HTTP_USER_AGENT=IPHONE)
    visit(Client(), tracking_id)
    Client().head(reverse("tracking:redirect", args=[tracking_id]))  # a scanner, via the split
    rows = rows_by_label(clicks_by_route(services.get_link(tracking_id=tracking_id), Selection()))
    assert list(rows) == ["Phones", "Portfolio A", "Portfolio B", "No rule matched"]
    figures = {label: (r["clicks"], r["person_clicks"]) for label, r in rows.items()}
    assert figures == {
        "Phones": (1, 1),
        "Portfolio A": (2, 1),
        "Portfolio B": (0, 0),
        "No rule matched": (0, 0),
    }
    assert rows["Portfolio A"]["rule_id"] == ids["Portfolio A"]
    assert rows["Portfolio A"]["weight"] == 1 and rows["Phones"]["weight"] is None


def test_the_interview_rate_per_variant_counts_the_application_a_person_opened_it_for() -> None:
    application = sent_application()
    tracking_id, _ids = routed_link(application=application)
    visit(Client(), tracking_id)  # a person, through variant A
    Client().head(reverse("tracking:redirect", args=[tracking_id]))  # a scanner: no application
    rows = rows_by_label(clicks_by_route(services.get_link(tracking_id=tracking_id), Selection()))
    assert (rows["Portfolio A"]["applications"], rows["Portfolio A"]["interviews"]) == (1, 0)
    assert rows["Portfolio A"]["interview_rate"] == 0.0
    assert rows["Portfolio A"]["small_sample"] is True
    assert rows["Phones"]["applications"] == 0 and rows["Phones"]["interview_rate"] is None

    services.change_application_status(
        application_id=application.id, status=ApplicationStatus.INTERVIEWED
    )
    rows = rows_by_label(clicks_by_route(services.get_link(tracking_id=tracking_id), Selection()))
    assert (rows["Portfolio A"]["interviews"], rows["Portfolio A"]["interview_rate"]) == (1, 1.0)
    assert rows["Phones"]["interviews"] == 0  # nobody came through it


def test_a_click_before_the_application_was_sent_opens_nothing() -> None:
    application = make_application(submitted_at=timezone.now() + dt.timedelta(hours=1))
    tracking_id, _ids = routed_link(application=application)
    visit(Client(), tracking_id)  # the job seeker checking the link before sending it
    rows = rows_by_label(clicks_by_route(services.get_link(tracking_id=tracking_id), Selection()))
    assert rows["Portfolio A"]["person_clicks"] == 1
    assert rows["Portfolio A"]["applications"] == 0


def test_the_analytics_api_breaks_clicks_down_by_rule() -> None:
    tracking_id, ids = routed_link(application=sent_application())
    visit(Client(), tracking_id, HTTP_USER_AGENT=IPHONE)
    client = key_client(make_key(["analytics:read"]))
    body = client.get(reverse("api:link-analytics", args=[tracking_id])).json()
    by_rule = rows_by_label(body["click_statistics"]["by_rule"])
    assert by_rule["Phones"] == {
        "rule_id": ids["Phones"],
        "rule_type": "device",
        "name": "Phones",
        "rule": "Phones",
        "priority": 0,
        "is_active": True,
        "removed": False,
        "conditions": {"device_types": ["mobile"]},
        "destination_url": MOBILE_PAGE,
        "weight": None,
        "clicks": 1,
        "person_clicks": 1,
        "applications": 1,
        "interviews": 0,
        "interview_rate": 0.0,
        "small_sample": True,
    }
    assert by_rule["No rule matched"]["rule_id"] is None
    plain = make_sent_link()
    visit(Client(), plain)
    answer = client.get(reverse("api:link-analytics", args=[plain])).json()
    assert answer["click_statistics"]["by_rule"] == []


def test_the_link_page_shows_each_variant_with_its_interview_figures() -> None:
    application = sent_application()
    tracking_id, _ids = routed_link(application=application)
    visit(Client(), tracking_id)
    services.change_application_status(
        application_id=application.id, status=ApplicationStatus.INTERVIEWED
    )
    client = Client()
    client.force_login(User.objects.create_superuser("boss"))
    page = client.get(reverse("analytics:link-detail", args=[tracking_id])).content.decode()
    assert "Portfolio A" in page and "Portfolio B" in page and "No rule matched" in page
    assert "1 of 1 (small sample)" in page


def test_the_csv_export_names_the_rule_of_each_click() -> None:
    tracking_id, ids = routed_link()
    visit(Client(), tracking_id, HTTP_USER_AGENT=IPHONE)
    services.replace_link_rules(tracking_id=tracking_id, rules=[])
    visit(Client(), tracking_id)
    client = Client()
    client.force_login(User.objects.create_superuser("boss"))
    response = client.get(f"{reverse('analytics:export-csv')}?link={tracking_id}")
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [(row["rule_id"], row["rule"]) for row in rows] == [
        (str(ids["Phones"]), f"Removed rule {ids['Phones']}"),
        ("", ""),
    ]


def test_rules_sent_back_with_their_ids_keep_their_clicks() -> None:
    tracking_id, ids = routed_link()
    visit(Client(), tracking_id, HTTP_USER_AGENT=IPHONE)
    client = key_client(make_key(["links:read", "links:write"]))
    url = reverse("api:link-rules", args=[tracking_id])
    listed = client.get(url).json()["rules"]
    listed[0]["destination_url"] = "https://example.org/phones-2"
    listed.pop()  # variant B goes
    response = client.put(url, {"rules": listed}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert [r["id"] for r in response.json()["rules"]] == [ids["Phones"], ids["Portfolio A"]]
    assert visit(Client(), tracking_id, HTTP_USER_AGENT=IPHONE)["Location"] == (
        "https://example.org/phones-2"
    )
    rows = rows_by_label(clicks_by_route(services.get_link(tracking_id=tracking_id), Selection()))
    assert rows["Phones"]["clicks"] == 2
    assert "Portfolio B" not in rows  # deleted, and it had no clicks


def test_rules_sent_without_ids_are_new_and_the_old_ones_clicks_stay_apart() -> None:
    tracking_id, ids = routed_link()
    visit(Client(), tracking_id, HTTP_USER_AGENT=IPHONE)
    (new,) = services.replace_link_rules(
        tracking_id=tracking_id,
        rules=[rule("device", MOBILE_PAGE, conditions={"device_types": ["mobile"]})],
    )
    assert new.pk not in ids.values()
    rows = rows_by_label(clicks_by_route(services.get_link(tracking_id=tracking_id), Selection()))
    removed = rows[f"Removed rule {ids['Phones']}"]
    assert (removed["clicks"], removed["removed"], removed["destination_url"]) == (1, True, None)
    assert LinkClick.objects.filter(tracking_id=tracking_id).count() == 1
    assert visit(Client(), tracking_id)["Location"] == DESTINATION


def test_the_outcomes_report_rates_each_variant_across_applications() -> None:
    def variant_link(weights: tuple[int, int]) -> Any:
        application = sent_application()
        tracking_id = make_sent_link(application=application)
        services.replace_link_rules(
            tracking_id=tracking_id,
            rules=[
                rule("ab_test", PORTFOLIO_A, weight=weights[0], name="Portfolio A"),
                rule("ab_test", PORTFOLIO_B, weight=weights[1], name=""),
            ],
        )
        visit(Client(), tracking_id)
        return application

    interviewed = variant_link((1, 0))
    variant_link((0, 1))
    variant_link((1, 0))
    services.change_application_status(
        application_id=interviewed.id, status=ApplicationStatus.INTERVIEWED
    )
    report = outcomes.outcomes_report(Period.for_days(30))
    assert report["by_variant"] == [
        {"variant": "Portfolio A", "opened": 2, "interview": 1, "rate": 0.5, "small_sample": True},
        {"variant": PORTFOLIO_B, "opened": 1, "interview": 0, "rate": 0.0, "small_sample": True},
    ]
    client = Client()
    client.force_login(User.objects.create_superuser("boss"))
    page = client.get(reverse("analytics:outcomes")).content.decode()
    assert "By A/B variant" in page and "1 of 2 (small sample)" in page
    exported = client.get(reverse("analytics:outcomes-csv"), {"table": "variants"})
    body = b"".join(exported.streaming_content).decode()  # type: ignore[attr-defined]
    assert body.splitlines()[1] == "Portfolio A,2,1,0.5,True"
