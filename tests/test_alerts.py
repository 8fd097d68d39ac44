"""E-mail alerts through a real SMTP server (aiosmtpd), the alerts page and the digest."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import io
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from notifications import tasks
from notifications.models import AlertSettings, DigestRun, EmailAlert
from tests.factories import CHROME, human_signals, make_sent_link
from tests.support import free_port
from tracking import services
from tracking.clicks.writer import write_clicks
from tracking.models import Job, JobApplication, LinkClick

pytestmark = pytest.mark.django_db

LATER = dt.timedelta(seconds=10)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture
def smtp(settings: Any) -> Iterator[Inbox]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.ALERT_EMAIL_TO = ["seeker@example.com"]
    settings.TRACKING_BASE_URL = "https://links.example.com"
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def application() -> JobApplication:
    job = Job.objects.create(title="Data Analyst", company_name="Fabrikam")
    return JobApplication.objects.create(job=job)


def person_click(
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


def test_a_first_person_click_sends_one_alert_through_smtp(
    smtp: Inbox, application: JobApplication
) -> None:
    tracking_id = make_sent_link(application_id=application.id, link_function="Portfolio")
    person_click(tracking_id, application, referrer_url="https://mail.google.com/")
    person_click(tracking_id, application, ip="192.0.2.44")  # click.person only: no alert
    now = timezone.now() + dt.timedelta(minutes=2)
    assert tasks.run_pass(now=now)["alerts_sent"] == 1
    assert tasks.run_pass(now=now + LATER)["alerts_sent"] == 0
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == "seeker@example.com"
    assert message["Subject"] == "A person opened your Portfolio link"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    plain = text.get_content()
    assert (
        "A person opened your Portfolio link — Data Analyst at Fabrikam, from e-mail, 2 min ago."
        in (plain)
    )
    assert f"https://links.example.com/dashboard/applications/{application.id}/" in plain
    assert f'href="https://links.example.com/dashboard/applications/{application.id}/"' in (
        html.get_content()
    )


def test_no_alert_for_a_scanner(smtp: Inbox, application: JobApplication) -> None:
    person_click(make_sent_link(application_id=application.id), application, http_method="HEAD")
    tasks.run_pass(now=timezone.now() + LATER)
    assert smtp.messages == []
    assert not EmailAlert.objects.exists()


def test_the_alerts_page_switches_kinds_on_and_off(
    application: JobApplication, settings: Any
) -> None:
    settings.ALERT_EMAIL_TO = ["seeker@example.com"]
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="x"))
    page = client.get("/dashboard/alerts/")
    assert page.status_code == 200
    assert "<script>" not in page.content.decode()
    response = client.post(
        "/dashboard/alerts/", {"kinds": ["click.person"], "daily_digest": ""}, follow=True
    )
    assert "Alert settings saved." in response.content.decode()
    current = AlertSettings.current()
    assert current.wants("click.person") is True
    assert current.wants("application.first_person_click") is False
    assert current.daily_digest is False
    person_click(make_sent_link(application_id=application.id), application)
    tasks.run_pass(now=timezone.now() + LATER)
    assert [m.subject for m in mail.outbox] == ["A person opened your LinkedIn link"]


def test_send_digest_summarises_the_day_per_application_once(
    smtp: Inbox, application: JobApplication
) -> None:
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    noon = dt.datetime.combine(yesterday, dt.time(12), tzinfo=timezone.get_default_timezone())
    tracking_id = make_sent_link(application_id=application.id, link_function="GitHub")
    person_click(tracking_id, application, clicked_at=noon)
    person_click(tracking_id, application, ip="192.0.2.9", clicked_at=noon + dt.timedelta(hours=1))
    call_command("send_digest", "--date", yesterday.isoformat(), stdout=(out := io.StringIO()))
    assert "1 application(s)" in out.getvalue()
    call_command("send_digest", "--date", yesterday.isoformat(), stdout=(again := io.StringIO()))
    assert "sent already" in again.getvalue()
    assert len(smtp.messages) == 1
    body = smtp.messages[0].get_body(("plain",))
    assert body is not None
    assert "Data Analyst at Fabrikam: 2 clicks (GitHub)" in body.get_content()
    assert DigestRun.objects.get(day=yesterday).applications == 1
