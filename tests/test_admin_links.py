"""The link page in the admin: settings on the form (with the service's messages), routing
rules inline, and the QR download."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.urls import reverse

from tests.factories import make_sent_link
from tests.test_admin import link_form
from tracking import services
from tracking.models import LinkRule, TrackedLink

pytestmark = pytest.mark.django_db

NO_RULES = {
    "rules-TOTAL_FORMS": "0",
    "rules-INITIAL_FORMS": "0",
    "rules-MIN_NUM_FORMS": "0",
    "rules-MAX_NUM_FORMS": "1000",
}


def change(admin_client: Client, tracking_id: str, **fields: Any) -> Any:
    """Post the link's change form with ``fields``; ``with_rules=False`` leaves the inline out."""
    with_rules = fields.pop("with_rules", True)
    link = TrackedLink.objects.get(pk=tracking_id)
    data = link_form(
        original_url=link.original_url,
        link_function=link.link_function,
        link_type=link.link_type,
        description=link.description or "",
    )
    data.pop("tracking_id")
    if with_rules:
        data.update(NO_RULES)
    data.update(fields)
    return admin_client.post(reverse("admin:tracking_trackedlink_change", args=[tracking_id]), data)


def test_adding_a_link_with_settings(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:tracking_trackedlink_add"),
        link_form(
            max_person_clicks="3",
            fallback_url="https://example.org/closed",
            utm_source="email",
            password="letmein",
            expires_at="2030-01-02T03:04",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    link = TrackedLink.objects.get()
    assert link.max_person_clicks == 3 and link.utm_source == "email"
    assert link.expires_at is not None and link.expires_at.year == 2030
    assert link.password_hash and check_password("letmein", link.password_hash)


def test_a_bad_fallback_url_shows_the_service_message(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:tracking_trackedlink_add"),
        link_form(fallback_url="http://127.0.0.1/x"),
    )
    assert response.status_code == 200
    assert "private, loopback or reserved" in response.content.decode()
    assert not TrackedLink.objects.exists()


def test_changing_keeps_or_removes_the_password(admin_client: Client) -> None:
    tracking_id = make_sent_link(password="first")
    assert change(admin_client, tracking_id, utm_term="x").status_code == 302
    link = TrackedLink.objects.get(pk=tracking_id)
    assert link.utm_term == "x" and check_password("first", link.password_hash or "")
    assert change(admin_client, tracking_id, remove_password="on").status_code == 302
    assert TrackedLink.objects.get(pk=tracking_id).password_hash is None


def test_rules_are_edited_inline_and_checked(admin_client: Client) -> None:
    tracking_id = make_sent_link()
    page = admin_client.get(reverse("admin:tracking_trackedlink_change", args=[tracking_id]))
    assert "Routing rules" in page.content.decode()
    assert f"/track/{tracking_id}/qr.png" in page.content.decode()
    rule = {
        "rules-TOTAL_FORMS": "1",
        "rules-0-priority": "1",
        "rules-0-rule_type": "device",
        "rules-0-name": "Phones",
        "rules-0-destination_url": "https://example.org/mobile",
        "rules-0-weight": "1",
        "rules-0-is_active": "on",
    }
    bad = change(
        admin_client, tracking_id, **rule, **{"rules-0-conditions": '{"device_types": ["fax"]}'}
    )
    assert bad.status_code == 200
    assert "unknown value" in bad.content.decode()
    assert not LinkRule.objects.exists()
    good = change(
        admin_client, tracking_id, **rule, **{"rules-0-conditions": '{"device_types": ["mobile"]}'}
    )
    assert good.status_code == 302
    saved = LinkRule.objects.get()
    assert saved.name == "Phones" and saved.conditions == {"device_types": ["mobile"]}


def test_a_change_posted_without_the_rules_keeps_them(admin_client: Client) -> None:
    tracking_id = make_sent_link()
    services.replace_link_rules(
        tracking_id=tracking_id,
        rules=[{"rule_type": "ab_test", "destination_url": "https://example.org/b"}],
    )
    response = change(admin_client, tracking_id, with_rules=False, description="changed")
    assert response.status_code == 302
    assert LinkRule.objects.count() == 1


def test_a_rule_changed_inline_keeps_its_id(admin_client: Client) -> None:
    tracking_id = make_sent_link()
    (kept, dropped) = services.replace_link_rules(
        tracking_id=tracking_id,
        rules=[
            {"rule_type": "ab_test", "destination_url": "https://example.org/a", "name": "A"},
            {"rule_type": "ab_test", "destination_url": "https://example.org/b", "name": "B"},
        ],
    )
    rules: dict[str, str] = {"rules-TOTAL_FORMS": "2", "rules-INITIAL_FORMS": "2"}
    for index, rule in enumerate((kept, dropped)):
        prefix = f"rules-{index}-"
        rules |= {
            f"{prefix}id": str(rule.pk),
            f"{prefix}link": tracking_id,
            f"{prefix}priority": str(index),
            f"{prefix}rule_type": "ab_test",
            f"{prefix}name": rule.name,
            f"{prefix}destination_url": rule.destination_url,
            f"{prefix}conditions": "{}",
            f"{prefix}weight": "3",
            f"{prefix}is_active": "on",
        }
    rules["rules-1-DELETE"] = "on"
    response = change(admin_client, tracking_id, **rules)
    assert response.status_code == 302, response.content.decode()[:3000]
    saved = LinkRule.objects.get()
    assert (saved.pk, saved.weight) == (kept.pk, 3)
