"""End to end on PostgreSQL and Redis, buffered mode: clicks through ``/track/``, the click
writer and ``db_worker`` as processes, a real receiver. A person's first click arrives as
``click.person`` and ``application.first_person_click`` within 10 seconds; a HEAD scanner click
sends nothing; a second person click on the application sends ``click.person`` only."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook as Verifier

from notifications.models import Webhook
from tests.factories import CHROME, make_sent_link
from tests.support import BASE_DIR, child_env, start_writer, wait_for_line
from tracking.models import Job, JobApplication

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def processes(stream: str, settings: Any) -> Iterator[None]:
    env = child_env(
        WEBHOOK_ALLOW_PRIVATE_NETWORKS="true", NOTIFICATIONS_POLL_SECONDS="1", DEBUG="false"
    )
    writer = start_writer(env=env)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--interval", "0.2", "--no-reload"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_line(writer, "started")
        yield
    finally:
        for process in (writer, worker):
            process.terminate()
        for process in (writer, worker):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def received_types(httpserver: HTTPServer, secret: str) -> list[str]:
    verifier = Verifier(secret)
    return sorted(
        verifier.verify(request.get_data(), dict(request.headers))["type"]
        for request, _response in httpserver.log
    )


def wait_for(httpserver: HTTPServer, count: int, *, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if len(httpserver.log) >= count:
            return time.monotonic() - started
        time.sleep(0.1)
    pytest.fail(f"{len(httpserver.log)} of {count} deliveries after {timeout} s")


@pytest.mark.django_db(transaction=True)
def test_person_clicks_are_delivered_within_ten_seconds_and_scanners_never(
    processes: None, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hooks").respond_with_data("ok")
    webhook = Webhook.objects.create(
        url=httpserver.url_for("/hooks"),
        event_types=["click.person", "application.first_person_click"],
    )
    job = Job.objects.create(title="Data Analyst", company_name="Fabrikam")
    application = JobApplication.objects.create(job=job)
    url = reverse("tracking:redirect", args=[make_sent_link(application_id=application.id)])
    browser: dict[str, Any] = {"HTTP_USER_AGENT": CHROME, "HTTP_ACCEPT_LANGUAGE": "en"}

    assert Client().head(url, REMOTE_ADDR="203.0.113.50").status_code == 302
    assert Client().get(url, REMOTE_ADDR="198.51.100.9", **browser).status_code == 302
    assert wait_for(httpserver, 2, timeout=10) < 10
    assert received_types(httpserver, webhook.secret) == [
        "application.first_person_click",
        "click.person",
    ]

    assert Client().get(url, REMOTE_ADDR="192.0.2.77", **browser).status_code == 302
    wait_for(httpserver, 3, timeout=10)
    time.sleep(3)  # anything else would have arrived by now
    assert received_types(httpserver, webhook.secret) == [
        "application.first_person_click",
        "click.person",
        "click.person",
    ]
