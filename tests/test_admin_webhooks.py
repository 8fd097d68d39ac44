"""Webhooks in the admin: the secret shown once, URL rules, test events and redeliveries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from notifications.models import Delivery, DeliveryAttempt, DeliveryStatus, Webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="x"))
    return client


def test_adding_an_endpoint_shows_its_secret_once(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/notifications/webhook/add/",
        {
            "url": "https://hooks.example.com/linktrack",
            "description": "CRM",
            "event_types": ["application.first_person_click"],
            "is_active": "on",
            "link_function": "",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
        follow=True,
    )
    webhook = Webhook.objects.get()
    assert webhook.event_types == ["application.first_person_click"]
    assert webhook.secret in response.content.decode()
    page = admin_client.get(f"/admin/notifications/webhook/{webhook.pk}/change/")
    assert page.status_code == 200
    assert webhook.secret not in page.content.decode()


def test_a_private_address_is_refused_in_the_form(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/notifications/webhook/add/",
        {
            "url": "http://192.168.0.10/hook",
            "is_active": "on",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "private, loopback or reserved" in response.content.decode()
    assert not Webhook.objects.exists()


def test_send_a_test_event_queues_it_for_the_worker(admin_client: Client) -> None:
    webhook = Webhook.objects.create(url="https://hooks.example.com/x")
    admin_client.post(
        "/admin/notifications/webhook/",
        {"action": "send_test_event", "_selected_action": [str(webhook.pk)]},
    )
    delivery = Delivery.objects.get()
    assert (delivery.event_type, delivery.status) == ("webhook.test", "pending")
    assert not DeliveryAttempt.objects.exists()


def test_a_delivery_shows_its_attempts_and_can_be_redelivered(admin_client: Client) -> None:
    webhook = Webhook.objects.create(url="https://hooks.example.com/x")
    delivery = Delivery.objects.create(
        webhook=webhook,
        event_type="click.person",
        body={},
        status=DeliveryStatus.FAILED,
        attempts=6,
    )
    DeliveryAttempt.objects.create(
        delivery=delivery,
        attempted_at=timezone.now() - dt.timedelta(hours=1),
        status_code=502,
        duration_ms=120,
        response_excerpt="Bad gateway from the CRM",
    )
    page = admin_client.get(f"/admin/notifications/delivery/{delivery.pk}/change/")
    assert "Bad gateway from the CRM" in page.content.decode()
    admin_client.post(
        "/admin/notifications/delivery/",
        {"action": "redeliver", "_selected_action": [str(delivery.pk)]},
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert delivery.attempt_set.count() == 1
