"""Webhook deliveries to a real HTTP receiver: signed, retried, never for automated clicks."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from typing import Any

import pytest
from django.utils import timezone
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook as Verifier
from werkzeug import Request, Response

from notifications import tasks, webhooks
from notifications.models import Delivery, DeliveryStatus, EventReceipt, Webhook
from tests.factories import CHROME, human_signals, make_sent_link
from tracking import services
from tracking.clicks.writer import write_clicks
from tracking.models import Event, Job, JobApplication, LinkClick

pytestmark = pytest.mark.django_db

LATER = dt.timedelta(seconds=10)


@pytest.fixture
def lan(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True


@pytest.fixture
def application() -> JobApplication:
    job = Job.objects.create(title="Data Analyst", company_name="Fabrikam")
    return JobApplication.objects.create(job=job)


def click(
    tracking_id: str, application: JobApplication, *, ip: str = "198.51.100.23", **fields: Any
) -> LinkClick:
    fields.setdefault("user_agent", CHROME)
    built = services.build_click(tracking_id=tracking_id, ip_address=ip, **fields)
    signals = dataclasses.replace(
        human_signals(ip, application_id=str(application.id)),
        user_agent=fields["user_agent"],
        link_created_at=timezone.now() - dt.timedelta(days=3),
    )
    write_clicks([(built, signals.as_dict())])
    return LinkClick.objects.get(pk=built.click_id)


def endpoint(httpserver: HTTPServer, **fields: Any) -> Webhook:
    return Webhook.objects.create(url=httpserver.url_for("/hooks"), **fields)


def received(httpserver: HTTPServer) -> list[tuple[Request, Response]]:
    return [(request, response) for request, response in httpserver.log]


def verified_bodies(httpserver: HTTPServer, webhook: Webhook) -> list[dict[str, Any]]:
    verifier = Verifier(webhook.secret)
    return [
        verifier.verify(request.get_data(), dict(request.headers))
        for request, _response in httpserver.log
    ]


def test_a_person_click_is_delivered_signed_per_standard_webhooks(
    lan: None, httpserver: HTTPServer, application: JobApplication
) -> None:
    httpserver.expect_request("/hooks", method="POST").respond_with_data("thanks")
    webhook = endpoint(httpserver)
    tracking_id = make_sent_link(application_id=application.id, link_function="Portfolio")
    stored = click(tracking_id, application)
    assert stored.clicked_at is not None
    assert tasks.run_pass(now=stored.clicked_at + dt.timedelta(seconds=1))["attempts"] == 0
    result = tasks.run_pass(now=stored.clicked_at + LATER)
    assert result["attempts"] == 3
    bodies = verified_bodies(httpserver, webhook)
    assert sorted(body["type"] for body in bodies) == [
        "application.first_person_click",
        "click.person",
        "link.first_person_click",
    ]
    first = next(body for body in bodies if body["type"] == "application.first_person_click")
    assert first["data"]["job"]["company"] == "Fabrikam"
    assert first["data"]["link_function"] == "Portfolio"
    request = httpserver.log[0][0]
    assert request.headers["webhook-id"].startswith("msg_")
    assert request.headers["Content-Type"] == "application/json"
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}
    attempt = Delivery.objects.first().attempt_set.get()  # type: ignore[union-attr]
    assert (attempt.status_code, attempt.response_excerpt) == (200, "thanks")
    # A second pass sends nothing again.
    assert tasks.run_pass(now=stored.clicked_at + 2 * LATER)["attempts"] == 0
    assert len(httpserver.log) == 3


def test_a_tampered_body_fails_verification(
    lan: None, httpserver: HTTPServer, application: JobApplication
) -> None:
    httpserver.expect_request("/hooks").respond_with_data("ok")
    webhook = endpoint(httpserver, event_types=["click.person"])
    stored = click(make_sent_link(application_id=application.id), application)
    assert stored.clicked_at is not None
    tasks.run_pass(now=stored.clicked_at + LATER)
    request = httpserver.log[0][0]
    body = json.loads(request.get_data())
    body["data"]["link_function"] = "Resume"
    with pytest.raises(Exception, match="No matching signature"):
        Verifier(webhook.secret).verify(json.dumps(body), dict(request.headers))


def test_automated_clicks_deliver_nothing(
    lan: None, httpserver: HTTPServer, application: JobApplication
) -> None:
    httpserver.expect_request("/hooks").respond_with_data("ok")
    endpoint(httpserver)
    tracking_id = make_sent_link(application_id=application.id)
    click(tracking_id, application, http_method="HEAD")
    click(tracking_id, application, user_agent="Googlebot/2.1 (+http://www.google.com/bot.html)")
    click(tracking_id, application, user_agent="Slackbot-LinkExpanding 1.0")
    click(tracking_id, application, click_source="dashboard")
    assert LinkClick.objects.count() == 4
    tasks.run_pass(now=timezone.now() + LATER)
    assert httpserver.log == []
    assert not Event.objects.exists()


def test_a_click_turned_scanner_by_the_burst_rule_is_suppressed(
    lan: None, httpserver: HTTPServer, application: JobApplication
) -> None:
    httpserver.expect_request("/hooks").respond_with_data("ok")
    endpoint(httpserver)
    stored = click(make_sent_link(application_id=application.id), application)
    LinkClick.objects.filter(pk=stored.pk).update(classification="scanner")
    tasks.run_pass(now=timezone.now() + LATER)
    assert httpserver.log == []
    assert set(EventReceipt.objects.values_list("outcome", flat=True)) == {"suppressed"}


def test_filters_choose_the_events_an_endpoint_receives(
    lan: None, httpserver: HTTPServer, application: JobApplication
) -> None:
    httpserver.expect_request("/hooks").respond_with_data("ok")
    other_job = Job.objects.create(title="Engineer", company_name="Contoso")
    endpoint(httpserver, job=other_job)
    endpoint(httpserver, event_types=["click.person"], link_function="GitHub")
    wanted = endpoint(httpserver, event_types=["application.first_person_click"])
    click(make_sent_link(application_id=application.id, link_function="Portfolio"), application)
    tasks.run_pass(now=timezone.now() + LATER)
    assert len(httpserver.log) == 1
    assert verified_bodies(httpserver, wanted)[0]["type"] == "application.first_person_click"


def test_a_500_is_retried_with_backoff_and_then_succeeds(
    lan: None, httpserver: HTTPServer, application: JobApplication
) -> None:
    httpserver.expect_ordered_request("/hooks").respond_with_data("down", status=500)
    httpserver.expect_ordered_request("/hooks").respond_with_data("ok")
    endpoint(httpserver, event_types=["click.person"])
    stored = click(make_sent_link(application_id=application.id), application)
    now = timezone.now() + LATER
    tasks.run_pass(now=now)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.next_attempt_at == now + dt.timedelta(seconds=5)
    assert tasks.run_pass(now=now + dt.timedelta(seconds=4))["attempts"] == 0
    assert tasks.run_pass(now=now + dt.timedelta(seconds=6))["attempts"] == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert list(
        delivery.attempt_set.order_by("attempted_at").values_list("status_code", flat=True)
    ) == [
        500,
        200,
    ]
    assert stored.click_id


def test_a_timeout_counts_as_a_failed_attempt(
    lan: None, httpserver: HTTPServer, application: JobApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.5)

    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response("late")

    httpserver.expect_request("/hooks").respond_with_handler(slow)
    endpoint(httpserver, event_types=["click.person"])
    click(make_sent_link(application_id=application.id), application)
    tasks.run_pass(now=timezone.now() + LATER)
    delivery = Delivery.objects.get()
    attempt = delivery.attempt_set.get()
    assert attempt.status_code is None
    assert "timed out" in attempt.error
    assert delivery.status == "pending"


def test_retries_run_out_and_the_endpoint_is_disabled_with_the_reason(
    lan: None, httpserver: HTTPServer, application: JobApplication, settings: Any
) -> None:
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 1
    httpserver.expect_request("/hooks").respond_with_data("no", status=503)
    webhook = endpoint(httpserver, event_types=["click.person"])
    click(make_sent_link(application_id=application.id), application)
    now = timezone.now() + LATER
    for delay in (0, 5, 60, 600, 3600, 6 * 3600):
        now += dt.timedelta(seconds=delay)
        assert tasks.run_pass(now=now)["attempts"] == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 6)
    webhook.refresh_from_db()
    assert webhook.is_active is False
    assert "1 failed deliveries in a row" in webhook.disabled_reason
    assert "503" in webhook.disabled_reason


def test_a_private_destination_is_refused_at_send_time(
    httpserver: HTTPServer, application: JobApplication, settings: Any
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    httpserver.expect_request("/hooks").respond_with_data("ok")
    # As if the name had resolved to a public address when the endpoint was saved.
    Webhook.objects.create(url=httpserver.url_for("/hooks"), event_types=["click.person"])
    click(make_sent_link(application_id=application.id), application)
    tasks.run_pass(now=timezone.now() + LATER)
    assert httpserver.log == []
    attempt = Delivery.objects.get().attempt_set.get()
    assert attempt.error.startswith("destination refused")


def test_a_test_event_and_a_redelivery_are_sent_by_the_worker(
    lan: None, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hooks").respond_with_data("ok")
    webhook = endpoint(httpserver)
    delivery = webhooks.queue_test_delivery(webhook)
    assert httpserver.log == []  # queued, not sent in the caller
    tasks.run_pass(now=timezone.now() + dt.timedelta(seconds=1))
    webhooks.redeliver(delivery)
    tasks.run_pass(now=timezone.now() + dt.timedelta(seconds=1))
    assert [body["type"] for body in verified_bodies(httpserver, webhook)] == [
        "webhook.test",
        "webhook.test",
    ]
    assert delivery.attempt_set.count() == 2


def test_the_worker_chain_is_scheduled_once() -> None:
    assert tasks.schedule_next() is True
    assert tasks.schedule_next() is False
